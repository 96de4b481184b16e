-- NETRA identity store on PostgreSQL, schema 3: a change-log kind for renamed subjects.
-- Replicas answer identify with subject names they keep in memory (so that identify goes on
-- while PostgreSQL is unreachable); a rename made through one replica reaches the others'
-- names as face changes reach their indexes.
ALTER TABLE changes DROP CONSTRAINT changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('face', 'subject', 'collection', 'name'));

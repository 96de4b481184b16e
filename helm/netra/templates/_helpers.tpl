{{/* Name of the chart's objects: the release name, with "-netra" unless it already says so. */}}
{{- define "netra.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "netra.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "netra.labels" -}}
{{ include "netra.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The Secret holding the store key. */}}
{{- define "netra.secretName" -}}
{{- if .Values.secretKey.existingSecret -}}
{{- .Values.secretKey.existingSecret -}}
{{- else if .Values.secretKey.value -}}
{{- printf "%s-secret" (include "netra.fullname" .) -}}
{{- else -}}
{{- fail "set secretKey.existingSecret (recommended) or secretKey.value: NETRA needs a store key of its own" -}}
{{- end -}}
{{- end -}}

{{- define "netra.dataClaim" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "netra.fullname" .)) -}}
{{- end -}}

{{/* store.backend, checked: sqlite or postgres. */}}
{{- define "netra.backend" -}}
{{- $backend := .Values.store.backend | default "sqlite" -}}
{{- if not (has $backend (list "sqlite" "postgres")) -}}
{{- fail (printf "store.backend is %q: use sqlite or postgres" $backend) -}}
{{- end -}}
{{- $backend -}}
{{- end -}}

{{/* The number of pods: replicaCount, else 1 (sqlite) or 2 (postgres). SQLite has one writer,
     so more than one pod on it is refused. */}}
{{- define "netra.replicas" -}}
{{- $postgres := eq (include "netra.backend" .) "postgres" -}}
{{- $replicas := .Values.replicaCount -}}
{{- if kindIs "invalid" $replicas -}}
{{- $replicas = ternary 2 1 $postgres -}}
{{- end -}}
{{- if and (not $postgres) (gt (int $replicas) 1) -}}
{{- fail (printf "replicaCount %v with store.backend sqlite: SQLite has one writer; set store.backend postgres to run several replicas" $replicas) -}}
{{- end -}}
{{- int $replicas -}}
{{- end -}}

{{/* The Secret holding the PostgreSQL URL and password. */}}
{{- define "netra.postgresSecret" -}}
{{- .Values.store.postgres.existingSecret | required "store.backend postgres needs store.postgres.existingSecret: a Secret with the database's URL and password" -}}
{{- end -}}

#!/usr/bin/env python3
"""Sustained load on a running NETRA service, from this machine, for BENCHMARKS.md.

Usage: load_test.py URL_PATH [--image FIELD=FILE ...] [--field NAME=VALUE ...]
                    [--port 8000 ...] [--connections 2] [--seconds 60]

Each connection (a thread with one keep-alive HTTP/1.1 connection to 127.0.0.1) posts the
same multipart form again and again until the time is up (with several --port, the
connections are dealt out to the servers in turn), then the script prints the
request rate, latency percentiles and the count of non-2xx answers and errors. Standard
library only; loopback only.
"""
import argparse
import http.client
import statistics
import threading
import time
import uuid


def multipart(images, fields):
    boundary = "netra-load-" + uuid.uuid4().hex
    body = b""
    for name, path in images:
        with open(path, "rb") as f:
            data = f.read()
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.jpg"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def worker(port, path, body, content_type, deadline, results, lock):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            connection.request("POST", path, body=body, headers={"Content-Type": content_type})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = None
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            results.append((time.monotonic() - start, status))
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--image", action="append", default=[], help="FIELD=FILE")
    parser.add_argument("--field", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--port", type=int, action="append", help="server port (default 8000); repeat for several servers")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    ports = args.port or [8000]
    body, content_type = multipart([i.split("=", 1) for i in args.image], [f.split("=", 1) for f in args.field])
    results, lock = [], threading.Lock()
    deadline = time.monotonic() + args.seconds
    threads = [threading.Thread(target=worker, args=(ports[number % len(ports)], args.path, body, content_type, deadline, results, lock))
               for number in range(args.connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies = sorted(r[0] * 1000 for r in results)
    failures = sum(1 for r in results if r[1] is None or not 200 <= r[1] < 300)

    def percentile(p):
        return latencies[min(len(latencies) - 1, max(0, int(round(p * len(latencies))) - 1))]

    print(f"{args.path}: {len(results)} requests in {elapsed:.1f} s over {args.connections} connections"
          f"{' to ports ' + '+'.join(map(str, ports)) if len(ports) > 1 else ''}: "
          f"{len(results) / elapsed:.1f} req/s; latency p50 {percentile(0.5):.0f} ms, p99 {percentile(0.99):.0f} ms, "
          f"max {latencies[-1]:.0f} ms, mean {statistics.mean(latencies):.0f} ms; non-2xx or failed: {failures}")


if __name__ == "__main__":
    main()

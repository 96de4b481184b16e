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

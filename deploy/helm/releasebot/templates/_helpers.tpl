{{- define "releasebot.fullname" -}}
{{ .Release.Name }}-releasebot
{{- end }}

{{- define "releasebot.labels" -}}
app.kubernetes.io/name: releasebot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: releasebot-{{ .Chart.Version }}
{{- end }}

{{- define "releasebot.selector" -}}
app.kubernetes.io/name: releasebot
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- /* Non-empty when the state is in PostgreSQL (several replicas, one leader). */}}
{{- define "releasebot.postgres" -}}
{{- if or .Values.database.existingSecret .Values.database.url .Values.postgresql.enabled }}true{{ end }}
{{- end }}

{{- /* The Secret holding the database URL, and its key. */}}
{{- define "releasebot.databaseSecret" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}{{ else }}{{ include "releasebot.fullname" . }}-database{{ end }}
{{- end }}

{{- define "releasebot.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}url{{ end }}
{{- end }}

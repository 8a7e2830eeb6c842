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

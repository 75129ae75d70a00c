{{/* Chart name, overridable. */}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-prefixed unless the release already names the chart. */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Objects of the admission webhook. */}}
{{- define "vigil.webhookServiceName" -}}
{{- printf "%s-webhook" (include "vigil.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "vigil.webhookCertSecret" -}}
{{- printf "%s-webhook-cert" (include "vigil.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Rules of files/rbac/<file>-rules.yaml with their resourceNames set to names (the
markers name the default objects; the release names its own). */}}
{{- define "vigil.namedRules" -}}
{{- $rules := .root.Files.Get (printf "files/rbac/%s-rules.yaml" .file) | fromYamlArray }}
{{- range $rules }}
{{- $_ := set . "resourceNames" $.names }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/* A binding of the controller's ServiceAccount to a Role or ClusterRole of the same name
(a RoleBinding in namespace when given). */}}
{{- define "vigil.binding" }}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if .namespace }}RoleBinding{{ else }}ClusterRoleBinding{{ end }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "vigil.labels" .root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .kind }}
  name: {{ .name }}
subjects:
- kind: ServiceAccount
  name: {{ include "vigil.serviceAccountName" .root }}
  namespace: {{ .root.Release.Namespace }}
{{- end }}

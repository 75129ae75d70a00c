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
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
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

{{/* A security context without ESO's `enabled` switch, adapted for OpenShift as ESO does
(global.compatibility.openshift.adaptSecurityContext): OpenShift assigns the user and group. */}}
{{- define "vigil.securityContext" -}}
{{- $sc := omit .context "enabled" }}
{{- $mode := .root.Values.global.compatibility.openshift.adaptSecurityContext }}
{{- if or (eq $mode "force") (and (eq $mode "auto") (.root.Capabilities.APIVersions.Has "security.openshift.io/v1")) }}
{{- $sc = omit $sc "fsGroup" "runAsUser" "runAsGroup" }}
{{- end }}
{{- toYaml $sc }}
{{- end }}

{{/* A value, or the global value of the same name when it is empty (ESO's global.*). */}}
{{- define "vigil.orGlobal" -}}
{{- $v := index .root.Values .name | default (index .root.Values.global .name) }}
{{- with $v }}{{ toYaml . }}{{ end }}
{{- end }}

{{/* extraArgs as ESO's map ({flag: value} is --flag=value, an empty value --flag) or as a
list of whole arguments. */}}
{{- define "vigil.extraArgs" -}}
{{- if kindIs "map" .Values.extraArgs }}
{{- range $key, $value := .Values.extraArgs }}
{{- if or $value (kindIs "bool" $value) (kindIs "float64" $value) (kindIs "int64" $value) }}
- --{{ $key }}={{ $value }}
{{- else }}
- --{{ $key }}
{{- end }}
{{- end }}
{{- else }}
{{- range .Values.extraArgs }}
- {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Whether the ServiceMonitor renders (serviceMonitor.renderMode, as in ESO). */}}
{{- define "vigil.renderServiceMonitor" -}}
{{- if .Values.serviceMonitor.enabled }}
{{- $has := .Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor" }}
{{- if eq .Values.serviceMonitor.renderMode "alwaysRender" }}true
{{- else if $has }}true
{{- else if eq .Values.serviceMonitor.renderMode "failIfMissing" }}
{{- fail "serviceMonitor.renderMode=failIfMissing: the cluster serves no monitoring.coreos.com/v1 ServiceMonitor (install the Prometheus Operator's CRDs, or set renderMode to skipIfMissing)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The webhook is on unless webhook.enabled is false or ESO's webhook.create is false. */}}
{{- define "vigil.webhookEnabled" -}}
{{- if and .Values.webhook.enabled (ne (toString .Values.webhook.create) "false") }}true{{ end }}
{{- end }}

{{/* The metrics port: ESO's metrics.listen.port when set, else metrics.port. */}}
{{- define "vigil.metricsPort" -}}
{{- .Values.metrics.listen.port | default .Values.metrics.port }}
{{- end }}

{{/* ipFamilyPolicy and ipFamilies of the chart's Services (ESO's service.*). */}}
{{- define "vigil.serviceIPFamilies" -}}
{{- $spec := dict }}
{{- with .Values.service.ipFamilyPolicy }}{{ $_ := set $spec "ipFamilyPolicy" . }}{{ end }}
{{- with .Values.service.ipFamilies }}{{ $_ := set $spec "ipFamilies" . }}{{ end }}
{{- with $spec }}{{ toYaml . }}{{ end }}
{{- end }}

{{/* The one namespace the installation is scoped to: scopedNamespace, or with ESO's
scopedRBAC alone the release namespace (as ESO's chart does); empty watches every namespace. */}}
{{- define "vigil.scopedNamespace" -}}
{{- .Values.scopedNamespace | default (ternary .Release.Namespace "" (eq (toString .Values.scopedRBAC) "true")) }}
{{- end }}

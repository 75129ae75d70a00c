{{/* The PromQL matchers that select this release's series in the alerts and the dashboard:
prometheusRule.jobSelector, or the job Prometheus Operator gives the targets of the chart's
ServiceMonitor (the metrics Service's name). Not the release name: a release named "secrets"
must still be found (alerts/mixin.JobSelectorFor says the same for alerts/). */}}
{{- define "vigil.alerts.jobSelector" -}}
{{- .Values.prometheusRule.jobSelector | default (printf "job=%q" (printf "%s-metrics" (include "vigil.fullname" .))) }}
{{- end }}

{{/* An alert's labels: prometheusRule.extraLabels and its severity (which wins). */}}
{{- define "vigil.alerts.labels" -}}
{{- toYaml (merge (dict "severity" .severity) (.extra | default dict)) }}
{{- end }}

{{/* The label that holds an ExternalSecret's or a store's namespace in Prometheus:
prometheusRule.namespaceLabel, or exported_namespace when the chart's ServiceMonitor scrapes
without honorLabels (Prometheus Operator sets the target's namespace label, the release's,
and moves the series' own to exported_namespace), namespace otherwise. */}}
{{- define "vigil.alerts.namespaceLabel" -}}
{{- $moved := and (eq (include "vigil.renderServiceMonitor" .) "true") (not .Values.serviceMonitor.honorLabels) }}
{{- .Values.prometheusRule.namespaceLabel | default (ternary "exported_namespace" "namespace" $moved) }}
{{- end }}

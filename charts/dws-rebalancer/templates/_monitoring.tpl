{{/* Monitoring: the scrape job's name, durations in seconds, and the alert groups rendered from rules/. */}}

{{/*
The job label Prometheus gives this release's targets: the ServiceMonitor's jobLabel reads the
Service's app.kubernetes.io/name label, which is the chart name (or nameOverride).
*/}}
{{- define "dws-rebalancer.job" -}}
{{- include "dws-rebalancer.name" . }}
{{- end }}

{{/* The jobs the alerts watch: prometheusRule.jobs, or this release's own job. A JSON list. */}}
{{- define "dws-rebalancer.alertJobs" -}}
{{- .Values.prometheusRule.jobs | default (list (include "dws-rebalancer.job" .)) | toJson }}
{{- end }}

{{/*
Seconds in a duration as the controller reads it (values.schema.json has already checked the
grammar): a number of seconds, 1h30m-style units (w, d, h, m, s, ms) or ISO-8601 (PT10M, P1DT2H).
*/}}
{{- define "dws-rebalancer.seconds" -}}
{{- $text := toString . | trim | lower }}
{{- $total := 0.0 }}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $text }}
{{- $total = float64 $text }}
{{- else if hasPrefix "p" $text }}
{{- $parts := splitList "t" (trimPrefix "p" $text) }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?d" (first $parts) -1 }}
{{- $total = addf $total (mulf 86400 (trimSuffix "d" .)) }}
{{- end }}
{{- $size := dict "h" 3600 "m" 60 "s" 1 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?[hms]" (rest $parts | join "") -1 }}
{{- $unit := regexFind "[hms]$" . }}
{{- $total = addf $total (mulf (index $size $unit) (trimSuffix $unit .)) }}
{{- end }}
{{- else }}
{{- $size := dict "w" 604800 "d" 86400 "h" 3600 "m" 60 "s" 1 "ms" 0.001 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?\\s*(ms|w|d|h|m|s)" $text -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $unit := trimPrefix $number . | trim }}
{{- $total = addf $total (mulf (index $size $unit) $number) }}
{{- end }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
DwsRebalancerNotCycling's threshold in seconds: its `threshold` value, or else three missed
polls and never less than 15 minutes. A fixed 15 minutes would fire between every two cycles
once poll_interval reaches 20m.
*/}}
{{- define "dws-rebalancer.notCyclingSeconds" -}}
{{- with .Values.prometheusRule.alerts.DwsRebalancerNotCycling.threshold }}
{{- include "dws-rebalancer.seconds" . }}
{{- else }}
{{- maxf 900 (mulf 3 (include "dws-rebalancer.seconds" .Values.config.poll_interval)) }}
{{- end }}
{{- end }}

{{/* An alert's threshold as PromQL reads it: durations in seconds, numbers as they are. */}}
{{- define "dws-rebalancer.alertThreshold" -}}
{{- $ := index . 0 }}
{{- $name := index . 1 }}
{{- $alert := index $.Values.prometheusRule.alerts $name }}
{{- if eq $name "DwsRebalancerNotCycling" }}
{{- include "dws-rebalancer.notCyclingSeconds" $ }}
{{- else if eq $name "DwsRebalancerClusterUnbalancedTooLong" }}
{{- include "dws-rebalancer.seconds" $alert.threshold }}
{{- else }}
{{- $alert.threshold }}
{{- end }}
{{- end }}

{{/* The matchers of this release's controllers, for `metric{<here>}`. */}}
{{- define "dws-rebalancer.alertSelector" -}}
{{- $jobs := list }}
{{- range include "dws-rebalancer.alertJobs" . | fromJsonArray }}
{{- $jobs = append $jobs (regexQuoteMeta .) }}
{{- end }}
{{- printf "job=~%q,namespace=%q" (join "|" $jobs) (include "dws-rebalancer.namespace" .) }}
{{- end }}

{{/* One alert rule of rules/, rendered: expr from its template, for, labels and links from values. */}}
{{- define "dws-rebalancer.alertRule" -}}
{{- $ := index . 0 }}
{{- $rule := deepCopy (index . 1) }}
{{- $values := $.Values.prometheusRule }}
{{- $alert := index $values.alerts $rule.alert | default dict }}
{{- $absent := list }}
{{- range include "dws-rebalancer.alertJobs" $ | fromJsonArray }}
{{- $absent = append $absent (printf "job=%q,namespace=%q" . (include "dws-rebalancer.namespace" $)) }}
{{- end }}
{{- $context := dict "selector" (include "dws-rebalancer.alertSelector" $) "absent" $absent "threshold" (include "dws-rebalancer.alertThreshold" (list $ $rule.alert)) }}
{{- $_ := set $rule "expr" (tpl $rule.expr $context) }}
{{- with $alert.for }}
{{- $_ = set $rule "for" . }}
{{- end }}
{{- $_ = set $rule "labels" (merge (dict) $rule.labels $values.additionalRuleLabels) }}
{{- $links := dict "runbook_url" (printf "%s/%s%s" (trimSuffix "/" $values.runbookUrlBase) $rule.alert $values.runbookUrlSuffix) }}
{{- $_ = set $links "dashboard_url" (printf "%s/d/dws-rebalancer/dws-rebalancer?var-namespace={{ $labels.namespace }}&var-job={{ $labels.job }}" (trimSuffix "/" $values.grafanaUrl)) }}
{{- $_ = set $rule "annotations" (merge $links $rule.annotations) }}
{{- toYaml $rule }}
{{- end }}

{{/* The alert groups of rules/dws-rebalancer.rules.yaml, without the disabled alerts. */}}
{{- define "dws-rebalancer.alertGroups" -}}
{{- $source := .Files.Get "rules/dws-rebalancer.rules.yaml" | fromYaml }}
{{- if not $source.groups }}
{{- fail "rules/dws-rebalancer.rules.yaml is missing or has no groups" }}
{{- end }}
{{- $groups := list }}
{{- range $source.groups }}
{{- $rules := list }}
{{- range .rules }}
{{- if not (index $.Values.prometheusRule.alerts .alert | default dict).disabled }}
{{- $rules = append $rules (include "dws-rebalancer.alertRule" (list $ .) | fromYaml) }}
{{- end }}
{{- end }}
{{- if $rules }}
{{- $groups = append $groups (dict "name" .name "rules" $rules) }}
{{- end }}
{{- end }}
{{- toYaml $groups }}
{{- end }}

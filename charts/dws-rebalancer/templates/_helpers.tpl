{{/* Names, labels, the image reference, the rendered controller configuration and credential wiring. */}}

{{- define "dws-rebalancer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dws-rebalancer.fullname" -}}
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

{{- define "dws-rebalancer.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{- define "dws-rebalancer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dws-rebalancer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dws-rebalancer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dws-rebalancer.labels" -}}
helm.sh/chart: {{ include "dws-rebalancer.chart" . }}
{{ include "dws-rebalancer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dws-rebalancer
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "dws-rebalancer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dws-rebalancer.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* registry/repository:tag, or registry/repository@digest when a digest is pinned. */}}
{{- define "dws-rebalancer.image" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry }}
{{- $repository := .Values.image.repository }}
{{- if $registry }}
{{- $repository = printf "%s/%s" $registry $repository }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Non-empty when the image is the chart's default repository (NOTES.txt says when to replace it). */}}
{{- define "dws-rebalancer.defaultImage" -}}
{{- $registry := .Values.global.imageRegistry | default .Values.image.registry }}
{{- if and (eq $registry "ghcr.io") (eq .Values.image.repository "dws-rebalancer/dws-rebalancer") }}true{{ end }}
{{- end }}

{{- define "dws-rebalancer.imagePullSecrets" -}}
{{- $secrets := concat (.Values.global.imagePullSecrets | default list) .Values.imagePullSecrets }}
{{- with $secrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "dws-rebalancer.configDir" -}}/etc/dws-rebalancer{{- end }}
{{- define "dws-rebalancer.journalDir" -}}/var/lib/dws-rebalancer{{- end }}

{{/* The DWS endpoint: config.endpoint, or the Huawei Cloud endpoint of config.region. */}}
{{- define "dws-rebalancer.endpoint" -}}
{{- .Values.config.endpoint | default (printf "https://dws.%s.myhuaweicloud.com" .Values.config.region) }}
{{- end }}

{{- define "dws-rebalancer.iamEndpoint" -}}
{{- .Values.auth.iamEndpoint | default (printf "https://iam.%s.myhuaweicloud.com" .Values.config.region) }}
{{- end }}

{{/*
The controller's config file. Keys the chart owns (listen address, journal path) are set here so they
always agree with the container port and the volume; credentials never appear in it.
*/}}
{{- define "dws-rebalancer.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $_ := set $config "endpoint" (include "dws-rebalancer.endpoint" .) }}
{{- $_ = set $config "project_id" (required "config.project_id is required: the project id (Huawei Cloud console → My Credentials → Projects) of the region holding the DWS clusters" .Values.config.project_id) }}
{{- $_ = set $config "listen" (include "dws-rebalancer.listen" .) }}
{{- $_ = set $config "journal_path" (printf "%s/journal.db" (include "dws-rebalancer.journalDir" .)) }}
{{- with include "dws-rebalancer.approvalTokenFile" . }}
{{- $_ = set $config "approval_api" (merge (dict "token_file" .) (deepCopy $config.approval_api)) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* HOST:PORT the controller listens on; `::` is every IPv6 and IPv4 address (one dual-stack socket). */}}
{{- define "dws-rebalancer.listen" -}}
{{- $host := .Values.listenAddress }}
{{- if contains ":" $host }}{{ $host = printf "[%s]" $host }}{{ end }}
{{- printf "%s:%d" $host (int .Values.containerPort) }}
{{- end }}

{{/* Credential name (auth.* value) → the controller's environment variable suffix. */}}
{{- define "dws-rebalancer.credentialEnvNames" -}}
ak: AK
sk: SK
securityToken: SECURITY_TOKEN
token: TOKEN
username: USERNAME
password: PASSWORD
domain: DOMAIN
{{- end }}

{{- define "dws-rebalancer.secretName" -}}
{{- .Values.auth.existingSecret | default (include "dws-rebalancer.fullname" .) }}
{{- end }}

{{/* Where the Secret's credentials and the OIDC token are mounted (outside the read-only config). */}}
{{- define "dws-rebalancer.credentialsDir" -}}/var/run/secrets/dws-rebalancer/credentials{{- end }}
{{- define "dws-rebalancer.oidcTokenDir" -}}/var/run/secrets/dws-rebalancer/oidc{{- end }}
{{- define "dws-rebalancer.notifyDir" -}}/var/run/secrets/dws-rebalancer/notify{{- end }}
{{- define "dws-rebalancer.approvalDir" -}}/var/run/secrets/dws-rebalancer/approval{{- end }}

{{/* The approval API's token file, when the API is on and its token comes from
     approvalApi.existingSecret (empty otherwise). On without a token is refused here, at
     install, rather than by the pod at start. */}}
{{- define "dws-rebalancer.approvalTokenFile" -}}
{{- $api := .Values.config.approval_api | default dict }}
{{- if $api.enabled }}
{{- if .Values.approvalApi.existingSecret }}
{{- printf "%s/token" (include "dws-rebalancer.approvalDir" .) }}
{{- else if not $api.token_file }}
{{- fail "config.approval_api.enabled needs approvalApi.existingSecret: a Secret holding the bearer token (key approvalApi.secretKey)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Methods that find their credentials at run time: no Secret. */}}
{{- define "dws-rebalancer.runtimeMethods" -}}["env", "metadata", "oidc", "pod_identity"]{{- end }}

{{/* Credential name -> its key in the Secret, for each credential that is set (YAML map). */}}
{{- define "dws-rebalancer.credentialKeys" -}}
{{- $keys := dict }}
{{- range $name, $_ := include "dws-rebalancer.credentialEnvNames" . | fromYaml }}
{{- if $.Values.auth.existingSecret }}
{{- with index $.Values.auth.secretKeys $name }}{{ $_ := set $keys $name . }}{{ end }}
{{- else if index $.Values.auth $name }}
{{- $_ := set $keys $name $name }}
{{- end }}
{{- end }}
{{- toYaml $keys }}
{{- end }}

{{/* Credentials read from the mounted Secret as files (re-read when they change); the others are
not secret (user and domain names) and stay environment variables. */}}
{{- define "dws-rebalancer.fileCredentials" -}}["ak", "sk", "securityToken", "token", "password"]{{- end }}

{{/* Fails the render unless exactly one complete way to authenticate is configured. */}}
{{- define "dws-rebalancer.validateAuth" -}}
{{- $auth := .Values.auth }}
{{- $method := $auth.method | default "auto" }}
{{- if has $method (include "dws-rebalancer.runtimeMethods" . | fromJsonArray) }}
{{- $static := include "dws-rebalancer.credentialKeys" . | fromYaml }}
{{- if or $auth.existingSecret (gt (len $static) 0) }}
{{- fail (printf "auth.method %s finds its credentials at run time: remove auth.existingSecret and the auth.* credentials (%s)" $method (join ", " (keys $static | sortAlpha))) }}
{{- end }}
{{- if and (eq $method "oidc") (not (and $auth.oidc.idpId $auth.oidc.audience)) }}
{{- fail "auth.method oidc needs auth.oidc.idpId (the IAM identity provider) and auth.oidc.audience (the client id it expects)" }}
{{- end }}
{{- else if $auth.existingSecret }}
{{- $mapped := list }}
{{- range $name, $key := $auth.secretKeys }}{{ if $key }}{{ $mapped = append $mapped $name }}{{ end }}{{ end }}
{{- if not $mapped }}
{{- fail "auth.secretKeys maps no credential: name the keys of auth.existingSecret, e.g. auth.secretKeys.ak=ak and auth.secretKeys.sk=sk" }}
{{- end }}
{{- else }}
{{- $methods := list }}
{{- if and $auth.ak $auth.sk }}{{ $methods = append $methods "auth.ak/auth.sk" }}{{ end }}
{{- if $auth.token }}{{ $methods = append $methods "auth.token" }}{{ end }}
{{- if and $auth.username $auth.password $auth.domain }}{{ $methods = append $methods "auth.username/auth.password/auth.domain" }}{{ end }}
{{- if not $methods }}
{{- fail "no credentials: set auth.existingSecret (a Secret with keys ak and sk), or auth.ak and auth.sk, or auth.token, or auth.username, auth.password and auth.domain, or auth.method (oidc, pod_identity, metadata, env)" }}
{{- end }}
{{- if gt (len $methods) 1 }}
{{- fail (printf "more than one authentication method configured: %s; keep one" (join ", " $methods)) }}
{{- end }}
{{- end }}
{{- end }}

{{/* DWS_REBALANCER_AUTH__* variables: a file in the mounted Secret per secret credential, a Secret
reference for the user and domain names, and the method's own settings. */}}
{{- define "dws-rebalancer.credentialEnv" -}}
{{- $secret := include "dws-rebalancer.secretName" . }}
{{- $suffixes := include "dws-rebalancer.credentialEnvNames" . | fromYaml }}
{{- $files := include "dws-rebalancer.fileCredentials" . | fromJsonArray }}
{{- range $name, $key := include "dws-rebalancer.credentialKeys" . | fromYaml }}
{{- if has $name $files }}
- name: DWS_REBALANCER_AUTH__{{ index $suffixes $name }}_FILE
  value: {{ include "dws-rebalancer.credentialsDir" $ }}/{{ $name }}
{{- else }}
- name: DWS_REBALANCER_AUTH__{{ index $suffixes $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- with .Values.auth.method }}{{ if ne . "auto" }}
- name: DWS_REBALANCER_AUTH__METHOD
  value: {{ . | quote }}
{{- end }}{{ end }}
{{- with .Values.auth.iamEndpoint }}
- name: DWS_REBALANCER_AUTH__IAM_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.auth.metadataEndpoint }}
- name: DWS_REBALANCER_AUTH__METADATA_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- if eq .Values.auth.method "oidc" }}
- name: DWS_REBALANCER_AUTH__IDP_ID
  value: {{ .Values.auth.oidc.idpId | quote }}
- name: DWS_REBALANCER_AUTH__ID_TOKEN_FILE
  value: {{ include "dws-rebalancer.oidcTokenDir" . }}/token
{{- end }}
{{- end }}

{{/* The Secret's secret credentials as files: key -> file named after the credential. */}}
{{- define "dws-rebalancer.credentialItems" -}}
{{- $files := include "dws-rebalancer.fileCredentials" . | fromJsonArray }}
{{- range $name, $key := include "dws-rebalancer.credentialKeys" . | fromYaml }}
{{- if has $name $files }}
- key: {{ $key }}
  path: {{ $name }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volume mounts for credentials (the Secret's files, the projected OIDC token). */}}
{{- define "dws-rebalancer.credentialMounts" -}}
{{- if include "dws-rebalancer.credentialItems" . }}
- name: credentials
  mountPath: {{ include "dws-rebalancer.credentialsDir" . }}
  readOnly: true
{{- end }}
{{- if eq .Values.auth.method "oidc" }}
- name: oidc-token
  mountPath: {{ include "dws-rebalancer.oidcTokenDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The volumes behind credentialMounts. */}}
{{- define "dws-rebalancer.credentialVolumes" -}}
{{- with include "dws-rebalancer.credentialItems" . }}
- name: credentials
  secret:
    secretName: {{ include "dws-rebalancer.secretName" $ }}
    defaultMode: 0440
    items:
      {{- . | trim | nindent 6 }}
{{- end }}
{{- if eq .Values.auth.method "oidc" }}
# A token for IAM only (its own audience), not the Kubernetes API's: the kubelet rotates it.
- name: oidc-token
  projected:
    defaultMode: 0440
    sources:
      - serviceAccountToken:
          audience: {{ .Values.auth.oidc.audience | quote }}
          expirationSeconds: {{ int .Values.auth.oidc.expirationSeconds }}
          path: token
{{- end }}
{{- end }}

{{/* TCP ports of the DWS and IAM endpoints, for the NetworkPolicy. */}}
{{- define "dws-rebalancer.apiPorts" -}}
{{- $ports := list }}
{{- $urls := list (include "dws-rebalancer.endpoint" .) (include "dws-rebalancer.iamEndpoint" .) }}
{{- if eq .Values.auth.method "metadata" }}
{{- $urls = append $urls (.Values.auth.metadataEndpoint | default "http://169.254.169.254") }}
{{- end }}
{{- range $urls }}
{{- $url := urlParse . }}
{{- $hostPort := splitList ":" $url.host }}
{{- if gt (len $hostPort) 1 }}
{{- $ports = append $ports (last $hostPort | int) }}
{{- else }}
{{- $ports = append $ports (ternary 80 443 (eq $url.scheme "http")) }}
{{- end }}
{{- end }}
{{- toJson (uniq $ports) }}
{{- end }}

{{/* The test pod's own name label keeps it out of the Service's and the StatefulSet's selectors. */}}
{{- define "dws-rebalancer.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "dws-rebalancer.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{/*
The StatefulSet's replicas: more than one shards config.targets, so it needs as many targets.
*/}}
{{- define "dws-rebalancer.replicas" -}}
{{- $replicas := int .Values.replicas -}}
{{- if and (gt $replicas 1) (lt (len (.Values.config.targets | default list)) $replicas) -}}
{{- fail (printf "replicas: %d shards config.targets among the pods: list at least %d targets" $replicas $replicas) -}}
{{- end -}}
{{- $replicas -}}
{{- end -}}

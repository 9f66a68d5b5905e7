{{/*
Names. The objects carry deploy/base's names, not names derived from the release: there is one
hairpin-proxy per cluster (one marked block in one Corefile, one ClusterRole), the controller's
leader Lease is always called hairpin-proxy, and keeping the names lets the chart be compared
with deploy/base object by object (e2e/local/helm-chart.int.test.ts).
*/}}
{{- define "hairpin-proxy.controllerName" -}}hairpin-proxy{{- end }}
{{- define "hairpin-proxy.haproxyName" -}}hairpin-haproxy{{- end }}
{{/* The hairpin Service: the controller's --target-service default. */}}
{{- define "hairpin-proxy.haproxyServiceName" -}}hairpin-proxy-haproxy{{- end }}
{{- define "hairpin-proxy.serviceAccountName" -}}hairpin-proxy{{- end }}

{{/*
Labels. Selector labels are exactly deploy/base's (a Deployment's selector cannot change, and the
NetworkPolicy selects the controller's pods by them); the Helm labels come on top.
*/}}
{{- define "hairpin-proxy.helmLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hairpin-proxy
{{- end }}

{{- define "hairpin-proxy.controllerSelectorLabels" -}}
app.kubernetes.io/name: hairpin-proxy
app.kubernetes.io/component: controller
{{- end }}

{{- define "hairpin-proxy.haproxySelectorLabels" -}}
app.kubernetes.io/name: hairpin-proxy-haproxy
{{- end }}

{{/* The controller's objects (ServiceAccount, RBAC, Deployment, PDB, monitoring). */}}
{{- define "hairpin-proxy.labels" -}}
app.kubernetes.io/name: hairpin-proxy
{{ include "hairpin-proxy.helmLabels" . }}
{{- end }}

{{- define "hairpin-proxy.controllerLabels" -}}
{{ include "hairpin-proxy.controllerSelectorLabels" . }}
{{ include "hairpin-proxy.helmLabels" . }}
{{- end }}

{{- define "hairpin-proxy.haproxyLabels" -}}
{{ include "hairpin-proxy.haproxySelectorLabels" . }}
app.kubernetes.io/component: haproxy
{{ include "hairpin-proxy.helmLabels" . }}
{{- end }}

{{/* An image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "hairpin-proxy.image" -}}
{{- $image := .image -}}
{{- if $image.digest -}}
{{- if not (regexMatch "^sha256:[0-9a-f]{64}$" $image.digest) -}}
{{- fail (printf "%s.image.digest must be sha256:<64 hex digits>, not %q" .what $image.digest) -}}
{{- end -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (toString ($image.tag | default .defaultTag)) -}}
{{- end -}}
{{- end }}

{{/*
The controller's configuration (values `config`), one value per flag of src/config.ts:
unset (null or "") leaves the controller's default; a boolean gives --flag or --no-flag; a list
gives the flag once per entry (--target, --ingress-class, --haproxy-ports, --dataplane-url are
repeatable); anything else gives --flag=value.
*/}}
{{- define "hairpin-proxy.configValue" -}}
{{- $value := index .Values.config .flag -}}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") -}}{{ toString $value }}{{- end -}}
{{- end }}

{{- define "hairpin-proxy.args" -}}
{{- $config := .Values.config | default dict -}}
{{- $args := list "run" -}}
{{- range $flag, $value := $config -}}
{{- if kindIs "bool" $value -}}
{{- $args = append $args (ternary (printf "--%s" $flag) (printf "--no-%s" $flag) $value) -}}
{{- else if kindIs "slice" $value -}}
{{- range $value -}}
{{- $args = append $args (printf "--%s=%v" $flag .) -}}
{{- end -}}
{{- else if and (not (kindIs "invalid" $value)) (ne (toString $value) "") -}}
{{- $args = append $args (printf "--%s=%v" $flag $value) -}}
{{- end -}}
{{- end -}}
{{- /* The Lease, the hairpin Service and the hairpin Services of --target live in this namespace. */ -}}
{{- if and (ne .Release.Namespace "hairpin-proxy") (not (include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "target-namespace"))) -}}
{{- $args = append $args (printf "--target-namespace=%s" .Release.Namespace) -}}
{{- end -}}
{{- toYaml $args -}}
{{- end }}

{{/* Values the chart's objects depend on: refused here rather than broken in the cluster. */}}
{{- define "hairpin-proxy.validate" -}}
{{- $namespace := include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "target-namespace") -}}
{{- if and $namespace (ne $namespace .Release.Namespace) -}}
{{- fail (printf "config.target-namespace is %q but the chart installs into %q: leave it unset (the chart sets it)" $namespace .Release.Namespace) -}}
{{- end -}}
{{- $service := include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "target-service") -}}
{{- if and $service (ne $service (include "hairpin-proxy.haproxyServiceName" .)) -}}
{{- fail (printf "config.target-service is %q but the chart's hairpin Service is %s: leave it unset" $service (include "hairpin-proxy.haproxyServiceName" .)) -}}
{{- end -}}
{{- $installName := include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "install-name") -}}
{{- if and $installName (ne $installName (include "hairpin-proxy.controllerName" .)) -}}
{{- fail (printf "config.install-name is %q but the chart's objects are called %s: leave it unset" $installName (include "hairpin-proxy.controllerName" .)) -}}
{{- end -}}
{{- if include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "dataplane-password") -}}
{{- fail "config.dataplane-password would put the password into the Deployment: leave it unset; the controller keeps it in the Secret config.dataplane-secret" -}}
{{- end -}}
{{- if and (eq (include "hairpin-proxy.leaderElect" .) "false") (gt (int .Values.controller.replicas) 1) -}}
{{- fail "config.leader-elect is false with controller.replicas > 1: every replica would write; use one replica or leave leader election on" -}}
{{- end -}}
{{- end }}

{{/* Settings the RBAC and the objects follow, with the controller's defaults. */}}
{{- define "hairpin-proxy.corednsMode" -}}
{{- include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "coredns-mode") | default "auto" -}}
{{- end }}
{{- define "hairpin-proxy.nodeLocalDns" -}}
{{- include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "node-local-dns") | default "auto" -}}
{{- end }}
{{- define "hairpin-proxy.corednsNamespace" -}}
{{- include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "coredns-namespace") | default "kube-system" -}}
{{- end }}
{{- define "hairpin-proxy.corednsConfigMap" -}}
{{- include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "coredns-configmap") | default "coredns" -}}
{{- end }}
{{- define "hairpin-proxy.corednsCustomConfigMap" -}}
{{- include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "coredns-custom-configmap") | default "coredns-custom" -}}
{{- end }}
{{- define "hairpin-proxy.dataplaneSecret" -}}
{{- include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "dataplane-secret") | default "hairpin-proxy-dataplane" -}}
{{- end }}
{{/* A boolean flag: "true" or "false", the controller's default when unset. */}}
{{- define "hairpin-proxy.boolFlag" -}}
{{- $value := index .Values.config .flag -}}
{{- if kindIs "bool" $value -}}{{ $value }}{{- else -}}{{ .default }}{{- end -}}
{{- end }}
{{- define "hairpin-proxy.leaderElect" -}}
{{- include "hairpin-proxy.boolFlag" (dict "Values" .Values "flag" "leader-elect" "default" "true") -}}
{{- end }}
{{- define "hairpin-proxy.manageHaproxy" -}}
{{- include "hairpin-proxy.boolFlag" (dict "Values" .Values "flag" "manage-haproxy" "default" "true") -}}
{{- end }}

{{/*
The upstream Services HAProxy forwards to, as JSON {namespace: [service, …]}: --ingress-controller
(default ingress-nginx/ingress-nginx-controller) and the upstream of every --target entry
(KEYS=NAMESPACE/SERVICE[:vN]). Each namespace gets a Role hairpin-proxy-upstream for them.
*/}}
{{- define "hairpin-proxy.upstreams" -}}
{{- $upstreams := dict -}}
{{- $refs := list (include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "ingress-controller") | default "ingress-nginx/ingress-nginx-controller") -}}
{{- $targets := index .Values.config "target" -}}
{{- range (kindIs "slice" $targets | ternary $targets (compact (list (toString ($targets | default ""))))) -}}
{{- $refs = append $refs (regexReplaceAll ":v[12]$" (regexReplaceAll "^[^=]*=" (toString .) "") "") -}}
{{- end -}}
{{- range $refs -}}
{{- $parts := splitList "/" . -}}
{{- if ne (len $parts) 2 -}}
{{- fail (printf "upstream %q is not NAMESPACE/SERVICE (config.ingress-controller or config.target)" .) -}}
{{- end -}}
{{- $namespace := index $parts 0 -}}
{{- $_ := set $upstreams $namespace (append (get $upstreams $namespace | default list) (index $parts 1) | uniq) -}}
{{- end -}}
{{- toJson $upstreams -}}
{{- end }}
{{/* "true" when --target names at least one upstream: Gateway API routes are served then. */}}
{{- define "hairpin-proxy.hasTargets" -}}
{{- $targets := index .Values.config "target" -}}
{{- if kindIs "slice" $targets -}}{{ if gt (len $targets) 0 }}true{{ end }}{{- else if $targets -}}true{{- end -}}
{{- end }}

{{/* --haproxy-ports as a list of numbers (default 80,443), in the order given. */}}
{{- define "hairpin-proxy.haproxyPorts" -}}
{{- $value := index .Values.config "haproxy-ports" -}}
{{- $ports := list -}}
{{- if kindIs "slice" $value -}}
{{- range $value -}}{{- range (splitList "," (toString .)) -}}{{- $ports = append $ports (int (trim .)) -}}{{- end -}}{{- end -}}
{{- else if and (not (kindIs "invalid" $value)) (ne (toString $value) "") -}}
{{- range (splitList "," (toString $value)) -}}{{- $ports = append $ports (int (trim .)) -}}{{- end -}}
{{- end -}}
{{- if not $ports -}}{{- $ports = list 80 443 -}}{{- end -}}
{{- toJson (uniq $ports) -}}
{{- end }}

{{/* The name of a HAProxy port: http and https for 80 and 443 (as deploy/base), else tcp-PORT. */}}
{{- define "hairpin-proxy.portName" -}}
{{- if eq (int .) 80 -}}http{{- else if eq (int .) 443 -}}https{{- else -}}tcp-{{ . }}{{- end -}}
{{- end }}

{{/* The port of --listen-address (default :8080); empty when it is "off". */}}
{{- define "hairpin-proxy.metricsPort" -}}
{{- $address := include "hairpin-proxy.configValue" (dict "Values" .Values "flag" "listen-address") | default ":8080" -}}
{{- if ne $address "off" -}}{{ regexFind "[0-9]+$" $address }}{{- end -}}
{{- end }}

{{/* Topology spread constraints, each given the component's selector labels when it has none. */}}
{{- define "hairpin-proxy.topologySpread" -}}
{{- $constraints := list -}}
{{- range .constraints -}}
{{- $constraint := deepCopy . -}}
{{- if not (hasKey $constraint "labelSelector") -}}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" ($.selectorLabels | fromYaml)) -}}
{{- end -}}
{{- $constraints = append $constraints $constraint -}}
{{- end -}}
{{- toYaml $constraints -}}
{{- end }}

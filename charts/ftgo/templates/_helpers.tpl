{{/* Prefix of every object: the release name (truncated for DNS labels). */}}
{{- define "ftgo.prefix" -}}
{{- .Release.Name | trunc 30 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels common to every object. */}}
{{- define "ftgo.labels" -}}
app.kubernetes.io/part-of: ftgo
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "name" "order-service"). */}}
{{- define "ftgo.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* Image reference of one binary: (dict "root" $ "binary" "cdc-relay"). */}}
{{- define "ftgo.image" -}}
{{- $registry := .root.Values.imageRegistry -}}
{{- $tag := .root.Values.imageTag | default .root.Chart.AppVersion -}}
{{- if $registry -}}
{{ printf "%s/ftgo/%s:%s" (trimSuffix "/" $registry) .binary $tag }}
{{- else -}}
{{ printf "ftgo/%s:%s" .binary $tag }}
{{- end -}}
{{- end -}}

{{/* Container securityContext shared by every container. */}}
{{- define "ftgo.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod securityContext shared by every pod. */}}
{{- define "ftgo.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Settings every binary shares: database (password as a mounted file) and Kafka.
     (dict "root" $ "svc" $svc) */}}
{{- define "ftgo.commonEnv" -}}
{{- $root := .root -}}
- name: FTGO_DATABASE__HOST
  value: {{ .svc.database.host | default $root.Values.database.host | quote }}
- name: FTGO_DATABASE__PORT
  value: {{ $root.Values.database.port | quote }}
- name: FTGO_DATABASE__NAME
  value: {{ .svc.database.name | quote }}
- name: FTGO_DATABASE__USER
  value: {{ .svc.database.user | quote }}
- name: FTGO_DATABASE__PASSWORD_FILE
  value: /var/run/secrets/ftgo/database/password
- name: FTGO_KAFKA__BROKERS
  value: {{ $root.Values.kafka.brokers | quote }}
# Topics created when missing (values.yaml kafka.topics; -1 = the broker's default).
- name: FTGO_KAFKA__TOPICS__PARTITIONS
  value: {{ $root.Values.kafka.topics.partitions | quote }}
- name: FTGO_KAFKA__TOPICS__REPLICATION_FACTOR
  value: {{ $root.Values.kafka.topics.replicationFactor | quote }}
{{- range $key, $value := $root.Values.kafka.properties }}
- name: {{ printf "FTGO_KAFKA__PROPERTIES__%s" ($key | replace "." "_" | upper) }}
  value: {{ $value | quote }}
{{- end }}
{{- if $root.Values.kafka.secretConfig.existingSecret }}
- name: FTGO_CONFIG_FILE
  value: /var/run/secrets/ftgo/kafka/{{ $root.Values.kafka.secretConfig.key }}
{{- end }}
{{- if $root.Values.kafka.caSecret.existingSecret }}
- name: FTGO_KAFKA__PROPERTIES__SSL_CA_LOCATION
  value: /var/run/secrets/ftgo/kafka-ca/{{ $root.Values.kafka.caSecret.key }}
{{- end }}
{{- end -}}

{{/* Secret volumes: the database password and, if set, the Kafka secret settings and
     the CA bundle of the Kafka brokers' TLS certificates. (dict "root" $ "svc" $svc) */}}
{{- define "ftgo.passwordVolume" -}}
{{- $ca := .root.Values.kafka.caSecret -}}
{{- if $ca.existingSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $ca.existingSecret }}
    defaultMode: 0444
    items:
      - key: {{ $ca.key }}
        path: {{ $ca.key }}
{{- end }}
{{- $kafka := .root.Values.kafka.secretConfig -}}
{{- if $kafka.existingSecret }}
- name: kafka-secret-config
  secret:
    secretName: {{ $kafka.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $kafka.key }}
        path: {{ $kafka.key }}
{{- end }}
- name: database-password
  secret:
    secretName: {{ .svc.database.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .svc.database.passwordKey }}
        path: password
{{- end -}}

{{- define "ftgo.checkovSkips" -}}
checkov.io/skip1: "CKV_K8S_43=Images are addressed by tag - they are built by this repository (docker_build in Tilt, kind load) and have no registry digest before they are pushed; pin imageRegistry/imageTag to a released tag in production."
checkov.io/skip2: "CKV_K8S_15=imagePullPolicy is a value (default IfNotPresent) - images loaded into kind/minikube (kind load, minikube image load, Tilt) exist in no registry, so Always would fail to start them; set imagePullPolicy to Always with a registry."
{{- if not .Values.networkPolicy.enabled }}
checkov.io/skip3: "CKV2_K8S_6=networkPolicy.enabled is false in these values - the operator chose to govern these pods with the cluster's own NetworkPolicies."
{{- end }}
{{- end -}}

{{/* Egress of a service or relay: its PostgreSQL and Kafka, on their ports only. */}}
{{- define "ftgo.backendEgress" -}}
{{- $np := .Values.networkPolicy -}}
- {{- with $np.postgresqlTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - {protocol: TCP, port: {{ .Values.database.port }}}
- {{- with $np.kafkaTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    {{- range $np.kafkaPorts }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end -}}

{{/* The name label alone (metadata labels, next to ftgo.labels). */}}
{{- define "ftgo.nameLabel" -}}
app.kubernetes.io/name: {{ .name }}
{{- end -}}

{{/* Mounts of the secret volumes. */}}
{{- define "ftgo.secretMounts" -}}
- name: database-password
  mountPath: /var/run/secrets/ftgo/database
  readOnly: true
{{- if .Values.kafka.secretConfig.existingSecret }}
- name: kafka-secret-config
  mountPath: /var/run/secrets/ftgo/kafka
  readOnly: true
{{- end }}
{{- if .Values.kafka.caSecret.existingSecret }}
- name: kafka-ca
  mountPath: /var/run/secrets/ftgo/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* Labels of a Prometheus operator object: `release: metrics.release` (what
     kube-prometheus-stack's Prometheus selects by), overridden and extended by the
     object's own `labels` value. (dict "root" $ "labels" .Values.metrics.serviceMonitor.labels) */}}
{{- define "ftgo.monitoringLabels" -}}
{{- $labels := dict -}}
{{- with .root.Values.metrics.release }}{{ $_ := set $labels "release" . }}{{ end -}}
{{- $labels = merge (deepCopy (.labels | default dict)) $labels -}}
{{- with $labels }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/* Scheduling of one workload's pods: spread over nodes and zones, anti-affinity on a
     node (values.yaml scheduling). (dict "root" $ "name" "order-service") */}}
{{- define "ftgo.scheduling" -}}
{{- $scheduling := .root.Values.scheduling -}}
{{- $selector := dict "matchLabels" (include "ftgo.selector" . | fromYaml) -}}
{{- with $scheduling.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range . }}
  - {{- toYaml (merge (dict "labelSelector" $selector "matchLabelKeys" (list "pod-template-hash")) .) | nindent 4 }}
{{- end }}
{{- end }}
{{- if eq $scheduling.podAntiAffinity "preferred" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            {{- toYaml $selector | nindent 12 }}
{{- else if eq $scheduling.podAntiAffinity "required" }}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          {{- toYaml $selector | nindent 10 }}
{{- end }}
{{- end -}}

{{/* The entry point's routes: each service and the API path prefix it serves. */}}
{{- define "ftgo.entryPaths" -}}
order-service: /v1/orders
consumer-service: /v1/consumers
restaurant-service: /v1/restaurants
{{- end -}}

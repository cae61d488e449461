{{/* Chart name, at most 63 characters. */}}
{{- define "jobpool-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name when it already holds the
chart name, else "<release>-<chart>"; at most 63 characters.
*/}}
{{- define "jobpool-operator.fullname" -}}
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

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "jobpool-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator's Pods (never change them: Deployment selectors are immutable). */}}
{{- define "jobpool-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jobpool-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "jobpool-operator.labels" -}}
helm.sh/chart: {{ include "jobpool-operator.chart" . }}
{{ include "jobpool-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: jobpool
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The operator's ServiceAccount. */}}
{{- define "jobpool-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "jobpool-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image: repository@digest, else repository:tag (tag defaults to appVersion). */}}
{{- define "jobpool-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Lease timing must satisfy duration > renew deadline > retry period (the operator refuses to start otherwise). */}}
{{- define "jobpool-operator.validateLeaderElection" -}}
{{- $le := .Values.leaderElection }}
{{- if not (and (gt (int $le.leaseDurationSeconds) (int $le.renewDeadlineSeconds)) (gt (int $le.renewDeadlineSeconds) (int $le.retryPeriodSeconds))) }}
{{- fail (printf "leaderElection: leaseDurationSeconds (%v) must exceed renewDeadlineSeconds (%v), which must exceed retryPeriodSeconds (%v)" $le.leaseDurationSeconds $le.renewDeadlineSeconds $le.retryPeriodSeconds) }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget that keeps every replica up would block every node drain. */}}
{{- define "jobpool-operator.validatePodDisruptionBudget" -}}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (not (kindIs "string" $pdb.minAvailable)) }}
{{- if ge (int $pdb.minAvailable) (int .Values.replicaCount) }}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below replicaCount (%v), or no node could ever be drained" $pdb.minAvailable .Values.replicaCount) }}
{{- end }}
{{- end }}
{{- end }}

//go:build tools

// Package kube pins the Kubernetes commands the test harness builds from source.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)

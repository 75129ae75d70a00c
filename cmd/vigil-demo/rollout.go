package main

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	esv1 "github.com/vigil-dev/vigil/api/externalsecrets/v1"
	"github.com/vigil-dev/vigil/controllers/rollout"
	"github.com/vigil-dev/vigil/test/harness"
)

// revisionAnnotation is where the Deployment controller counts a Deployment's revisions.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// replicaSetsPath is what `kubectl get replicasets -l app=payments-api` asks for.
const replicaSetsPath = "/apis/apps/v1/namespaces/payments/replicasets?labelSelector=app%3D" + deployment

// deployApp creates a Deployment that mounts db-credentials and opts in to rollouts the
// Reloader way, and waits until Vigil recorded the Secret it started with.
func (d *demo) deployApp() error {
	step("Deploying payments-api, annotated reloader.stakater.com/auto: \"true\", mounting db-credentials",
		"Reloader's annotation carries over: Vigil records the Secret's hash on the Deployment and will roll it on a change.")
	if err := d.cp.Client.Create(d.ctx, newDeployment()); err != nil {
		return err
	}
	err := harness.WaitFor(d.ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		var dep appsv1.Deployment
		if err := d.cp.Client.Get(ctx, key(deployment), &dep); err != nil {
			return false, err
		}
		return dep.Annotations[rollout.AnnotationSecretHashes] != "" && dep.Annotations[revisionAnnotation] == "1", nil
	})
	if err != nil {
		return fmt.Errorf("deployment/%s: Vigil did not record its Secrets: %w", deployment, err)
	}
	fmt.Println("\n$ kubectl get replicasets -n payments -l app=" + deployment)
	return printTable(d.ctx, d.cp, replicaSetsPath)
}

// newDeployment is payments-api: one replica that mounts db-credentials. This control plane
// has no scheduler or kubelet, so its pods stay Pending; the Deployment controller still
// makes a new ReplicaSet for each new pod template, as in a cluster.
func newDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": deployment}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: deployment, Namespace: namespace,
			Annotations: map[string]string{rollout.ReloaderAuto: "true"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "api", Image: "registry.k8s.io/pause:3.10",
						VolumeMounts: []corev1.VolumeMount{{Name: "db", MountPath: "/etc/db", ReadOnly: true}}}},
					Volumes: []corev1.Volume{{Name: "db",
						VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: dbSecret}}}},
				},
			},
		},
	}
}

// rotate changes the password in Secrets Manager, forces a sync, and shows the Secret
// follow and the Deployment roll out.
func (d *demo) rotate() error {
	step("Rotating the password in Secrets Manager and forcing a sync",
		"The Secret's data hash changes, and Vigil rolls payments-api out: a new ReplicaSet with a new pod template.")
	before, err := secretHash(d.ctx, d.cp.Client, dbSecret)
	if err != nil {
		return err
	}
	rotated, err := rotatePassword(d.value)
	if err != nil {
		return err
	}
	if err := d.putRemote(rotated); err != nil {
		return err
	}
	if err := d.forceSync(dbSecret); err != nil {
		return err
	}
	if err := d.waitSynced(dbSecret, before); err != nil {
		return err
	}
	after, err := printSecret(d.ctx, d.cp.Client, dbSecret)
	if err != nil {
		return err
	}
	fmt.Printf("    data-hash changed: %s -> %s\n", before, after)
	return d.showRollout()
}

// showRollout waits for the Deployment's second revision and Vigil's event, and prints them.
func (d *demo) showRollout() error {
	var dep appsv1.Deployment
	err := harness.WaitFor(d.ctx, waitTimeout, func(ctx context.Context) (bool, error) {
		err := d.cp.Client.Get(ctx, key(deployment), &dep)
		return err == nil && dep.Annotations[revisionAnnotation] == "2", err
	})
	if err != nil {
		return fmt.Errorf("deployment/%s did not roll out after the rotation: %w", deployment, err)
	}
	ev, err := d.env.WaitEvent(d.ctx, namespace, "Deployment", deployment, "RolloutTriggered")
	if err != nil {
		return err
	}
	fmt.Printf("\n$ kubectl get events -n payments --field-selector reason=RolloutTriggered\n    %s %s: %s\n",
		ev.Type, ev.Reason, ev.Note)
	fmt.Printf("    deployment/%s revision 2, pod template %s=%s\n", deployment,
		rollout.AnnotationSecretHashes, dep.Spec.Template.Annotations[rollout.AnnotationSecretHashes])
	fmt.Println("\n$ kubectl get replicasets -n payments -l app=" + deployment)
	return printTable(d.ctx, d.cp, replicaSetsPath)
}

// secretHash is ESO's data-hash annotation of a Secret.
func secretHash(ctx context.Context, c client.Client, name string) (string, error) {
	var s corev1.Secret
	err := c.Get(ctx, key(name), &s)
	return s.Annotations[esv1.AnnotationDataHash], err
}

package rollout

import (
	"context"
	"fmt"
	"maps"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// JobKind recreates a Job with its pods' new inputs, as Reloader does: a Job's pod template
// cannot change, so the Job is deleted (its pods with it) and created again under the same
// name. A Job a CronJob created is left to its CronJob.
func JobKind() Kind {
	return Kind{
		Name:    "job",
		New:     func() client.Object { return &batchv1.Job{} },
		NewList: func() client.ObjectList { return &batchv1.JobList{} },
		Template: func(o client.Object) (*corev1.PodTemplateSpec, error) {
			return &o.(*batchv1.Job).Spec.Template, nil
		},
		Paused:          func(o client.Object) bool { s := o.(*batchv1.Job).Spec.Suspend; return s != nil && *s },
		Roll:            recreateJob,
		LeaveControlled: true,
	}
}

// CronJobKind runs a Job from a CronJob's job template at once when its inputs change, as
// Reloader does (like `kubectl create job --from=cronjob/...`); the CronJob's own schedule
// is left alone, and its later Jobs read the new data when they start anyway.
func CronJobKind() Kind {
	return Kind{
		Name:    "cronjob",
		New:     func() client.Object { return &batchv1.CronJob{} },
		NewList: func() client.ObjectList { return &batchv1.CronJobList{} },
		Template: func(o client.Object) (*corev1.PodTemplateSpec, error) {
			return &o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template, nil
		},
		Paused: func(o client.Object) bool { s := o.(*batchv1.CronJob).Spec.Suspend; return s != nil && *s },
		Roll:   runCronJob,
	}
}

// Labels the Job controller sets from a Job's uid; a recreated Job gets its own.
var jobUIDLabels = []string{"controller-uid", batchv1.ControllerUidLabel, "job-name", batchv1.JobNameLabel}

// recreateJob deletes the Job (only this one: the uid is a precondition) and creates it
// again with the new hashes on its pod template and the reconciler's records on it.
func recreateJob(ctx context.Context, c client.Client, obj, _ client.Object, hashes string, _ time.Time) error {
	old := obj.(*batchv1.Job)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: old.Name, Namespace: old.Namespace, Labels: maps.Clone(old.Labels),
		Annotations: maps.Clone(old.Annotations), OwnerReferences: old.OwnerReferences,
	}, Spec: *old.Spec.DeepCopy()}
	for _, l := range jobUIDLabels {
		delete(job.Labels, l)
		delete(job.Spec.Template.Labels, l)
	}
	if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
		job.Spec.Selector = nil // the API server makes one for the new uid
	}
	setSecretHashes(&job.Spec.Template.Annotations, hashes)
	background := metav1.DeletePropagationBackground
	err := c.Delete(ctx, old, client.Preconditions{UID: &old.UID}, client.PropagationPolicy(background))
	if err != nil {
		return client.IgnoreNotFound(err)
	}
	// The old Job may take a moment to go; a Job must not be lost between delete and create.
	return retry.OnError(retry.DefaultBackoff, func(err error) bool {
		return apierrors.IsAlreadyExists(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
	}, func() error {
		return c.Create(ctx, job.DeepCopy())
	})
}

// runCronJob creates a Job from the CronJob's job template, owned by the CronJob as its
// scheduled Jobs are, then records the hashes on the CronJob's metadata (its spec is left
// alone). A pass that stopped between the two (a crash, a failed patch) is retried without
// running a second Job: the newest Job Vigil ran already carries these hashes.
func runCronJob(ctx context.Context, c client.Client, obj, before client.Object, hashes string, _ time.Time) error {
	cj := obj.(*batchv1.CronJob)
	ran, err := ranWith(ctx, c, cj, hashes)
	if err != nil {
		return err
	}
	if ran {
		return c.Patch(ctx, obj, client.MergeFrom(before))
	}
	tmpl := cj.Spec.JobTemplate
	annotations := map[string]string{"cronjob.kubernetes.io/instantiate": "manual"}
	maps.Copy(annotations, tmpl.Annotations)
	owner := metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: jobNamePrefix(cj.Name), Namespace: cj.Namespace,
			Labels: maps.Clone(tmpl.Labels), Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*owner},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
	setSecretHashes(&job.Spec.Template.Annotations, hashes)
	if err := c.Create(ctx, job); err != nil {
		return fmt.Errorf("creating a Job from CronJob %s: %w", cj.Name, err)
	}
	return c.Patch(ctx, obj, client.MergeFrom(before))
}

// ranWith reports whether the newest Job Vigil ran from the CronJob carries hashes. Only
// the newest counts, so inputs that change back to earlier values run a Job again; Jobs
// created in the same second all must carry them (creation times are whole seconds).
func ranWith(ctx context.Context, c client.Client, cj *batchv1.CronJob, hashes string) (bool, error) {
	var jobs batchv1.JobList
	if err := c.List(ctx, &jobs, client.InNamespace(cj.Namespace)); err != nil {
		return false, fmt.Errorf("listing the Jobs of CronJob %s: %w", cj.Name, err)
	}
	var newest *metav1.Time
	ran := false
	for i := range jobs.Items {
		j := &jobs.Items[i]
		owner := metav1.GetControllerOf(j)
		if owner == nil || owner.UID != cj.UID || j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" {
			continue
		}
		carries := j.Spec.Template.Annotations[AnnotationSecretHashes] == hashes
		switch {
		case newest == nil || newest.Before(&j.CreationTimestamp):
			newest, ran = &j.CreationTimestamp, carries
		case newest.Equal(&j.CreationTimestamp):
			ran = ran && carries
		}
	}
	return ran, nil
}

// jobNamePrefix keeps a generated Job name within the 63 characters its pods' job-name
// label allows (GenerateName adds five).
func jobNamePrefix(cronJob string) string {
	const maxPrefix = 63 - 5 - 1
	if len(cronJob) > maxPrefix {
		cronJob = cronJob[:maxPrefix]
	}
	return cronJob + "-"
}

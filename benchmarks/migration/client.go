package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// scaledLimiter is the default limiter with the groupsmigration project
// rate set to perSecond (Google's 10/s times the fake's speed); the other
// rules (one insert at a time per group, the daily budget) stay.
func scaledLimiter(perSecond float64) (*quota.RuleLimiter, error) {
	return quota.New(quota.WithRules(
		quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, perSecond, time.Second).
			Blames("rateLimitExceeded", "quotaExceeded")))
}

// fakeClient points a client at the in-process fake: the fake's own HTTP
// client sends a token it accepts.
func fakeClient(ctx context.Context, srv *workspacetest.Server, lim quota.Limiter) (*workspace.Client, error) {
	return workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL), workspace.WithHTTPClient(srv.Client()),
		workspace.WithoutAuthentication(), workspace.WithQuota(lim))
}

// moduleRoot walks up from the working directory to the folder holding
// go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = up
	}
}

// resolveCorpus returns the corpus folder: dir, or
// ../shared/corpus/sisimai-err beside the module root.
func resolveCorpus(dir string) (string, error) {
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "..", "shared", "corpus", "sisimai-err")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, "bounces.mbox")); err != nil {
		return "", fmt.Errorf("corpus: %w (give -corpus)", err)
	}
	return abs, nil
}

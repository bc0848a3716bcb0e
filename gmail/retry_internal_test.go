package gmail

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/retry"
)

// TestRetryDefaultsArePackageRetrys: the batch and upload retry loops
// start from Gmail's default policy of package retry, the one the
// client's transport uses, and the options replace only what they set.
func TestRetryDefaultsArePackageRetrys(t *testing.T) {
	def := retry.DefaultPolicy(workspace.APIGmail)
	b, err := (*BatchOptions)(nil).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(def, b.policy); diff != "" {
		t.Errorf("batch defaults (-retry.DefaultPolicy +got):\n%s", diff)
	}
	if b.size != defaultBatchSize || b.parallel != 1 {
		t.Errorf("batch size %d, parallel %d", b.size, b.parallel)
	}
	u, err := (*UploadRetry)(nil).policy("op")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(def, u); diff != "" {
		t.Errorf("upload defaults (-retry.DefaultPolicy +got):\n%s", diff)
	}

	u, err = (&UploadRetry{MaxAttempts: 3, Initial: time.Minute}).policy("op")
	if err != nil {
		t.Fatal(err)
	}
	want := def
	want.MaxAttempts, want.Initial, want.Max = 3, time.Minute, time.Minute // Max never below Initial
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("upload with options (-want +got):\n%s", diff)
	}
	if _, err := (&UploadRetry{Max: -1}).policy("op"); err == nil {
		t.Error("a negative Max was accepted")
	}
}

// TestExpBackoff: Initial·Multiplierⁿ capped at Max, within the policy's
// jitter.
func TestExpBackoff(t *testing.T) {
	p := retry.DefaultPolicy(workspace.APIGmail)
	for n, base := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 32 * time.Second} {
		for range 20 {
			d := expBackoff(p, n, rand.Float64)
			lo := time.Duration(float64(base) * (1 - p.Jitter))
			hi := time.Duration(float64(base) * (1 + p.Jitter))
			if d < lo || d > hi {
				t.Fatalf("wait before retry %d = %v, want within [%v, %v]", n+1, d, lo, hi)
			}
		}
	}
	p.Jitter = 0
	if d := expBackoff(p, 2, rand.Float64); d != 4*time.Second {
		t.Errorf("no jitter: %v, want 4s", d)
	}
}

package detectors

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// hugeOptions are the option values that ended the server with "out of
// memory" (or ran on forever) before the limits: each must be refused.
var hugeOptions = []struct{ alg, option string }{
	{"ae_1svm", "rff_dim"},
	{"vae", "latent"},
	{"dagmm", "n_components"},
	{"repen", "ensemble_size"},
	{"repen", "subsample"},
	{"repen", "rep_dim"},
	{"prenet", "ensemble_size"},
	{"prenet", "steps"},
	{"rdp", "refs"},
	{"rdp", "rep_dim"},
	{"neutral", "transforms"},
	{"neutral", "rep_dim"},
	{"randnet", "ensemble"},
	{"ae_knn", "max_reference"},
	{"ae_knn", "k"},
	{"sdor", "ensemble_size"},
	{"sdor", "subsample"},
	{"sdor", "steps"},
	{"sdor", "iterations"},
	{"autoencoder", "epochs"},
	{"autoencoder", "batch_size"},
}

// allocated runs f and returns the bytes it allocated (all goroutines).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLimitHugeOptionValues: 1e9 and 2e9 for every option that sizes the
// model is an ErrBadOption naming the option, from ValidateOptions and
// from Fit, within milliseconds and without allocating. The bug it
// catches: an option without an upper bound (rff_dim = 1e9 allocated 8 GB
// in Init and the runtime killed the process).
func TestLimitHugeOptionValues(t *testing.T) {
	tb := synthetic(200, 3, 1)
	mem := checkedMem(t)
	bs := tb.NullBatches(mem, 1000)
	defer releaseAll(bs)
	for _, c := range hugeOptions {
		for _, v := range []string{"1000000000", "2000000000"} {
			o := map[string]string{c.option: v}
			var verr, ferr error
			start := time.Now()
			n := allocated(func() {
				verr = ValidateOptions(c.alg, o)
				_, ferr = Fit(context.Background(), c.alg, o, TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
			})
			for _, err := range []error{verr, ferr} {
				if !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), c.option) {
					t.Errorf("%s %s = %s: got %v, want ErrBadOption naming the option", c.alg, c.option, v, err)
				}
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("%s %s = %s: refused after %v", c.alg, c.option, v, d)
			}
			if n > 1<<20 {
				t.Errorf("%s %s = %s: allocated %d bytes before refusing", c.alg, c.option, v, n)
			}
		}
	}
}

// TestLimitDeepNetworks: 200 layers of 4096 is refused by the list's
// length bound; 30 layers (within it) by the model's parameter count,
// with ErrTooLarge naming hidden and the limit. The bug it catches:
// hidden had a bound per width but none on the depth or the total.
func TestLimitDeepNetworks(t *testing.T) {
	layers := func(n int) string { return strings.TrimSuffix(strings.Repeat("4096,", n), ",") }
	if err := ValidateOptions("autoencoder", map[string]string{"hidden": layers(200)}); !errors.Is(err, ErrBadOption) {
		t.Errorf("200 layers of 4096: got %v, want ErrBadOption", err)
	}
	for _, alg := range Algorithms() {
		if alg == "ocnn" || alg == "ape" {
			continue // one hidden layer only, no hidden layers (ErrBadOption)
		}
		err := ValidateOptions(alg, map[string]string{"hidden": layers(30)})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "hidden") || !strings.Contains(err.Error(), "limit 5e+07") {
			t.Errorf("%s: 30 layers of 4096: got %v, want ErrTooLarge naming hidden and the limit", alg, err)
		}
	}
	// Within every option's bound, too large together.
	err := ValidateOptions("ae_1svm", map[string]string{"rff_dim": "65536", "hidden": "4096"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "rff_dim") {
		t.Errorf("ae_1svm rff_dim 65536 on a code of 4096: got %v, want ErrTooLarge naming rff_dim", err)
	}
}

// TestLimitDataShape: the estimate depends on the data: rdp's pairing
// matrix is batch_size² and ae_knn keeps max_reference codes, so Fit
// refuses what ValidateOptions (one row) accepts once the data is large
// enough, and honours TrainingData.Limits.
func TestLimitDataShape(t *testing.T) {
	o := map[string]string{"batch_size": "65536"}
	if err := ValidateOptions("rdp", o); err != nil {
		t.Fatalf("rdp batch_size 65536 for one row: %v", err)
	}
	s := Shape{Rows: 1 << 20, Dims: 10, Batch: 65536}
	a, name, norm, err := resolve("rdp", o)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFootprint(name, a, norm, givenNames(o), s, DefaultLimits); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("rdp batch_size 65536 on 1M rows: got %v, want ErrTooLarge naming batch_size", err)
	}

	tb := synthetic(300, 3, 2)
	mem := checkedMem(t)
	bs := tb.NullBatches(mem, 1000)
	defer releaseAll(bs)
	small := &Limits{MaxParams: 1000, MaxBytes: 1 << 30}
	_, err = Fit(context.Background(), "autoencoder", map[string]string{"hidden": "64,32"}, TrainingData{Batches: bs, Features: tb.Features(), Label: -1, Limits: small})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit 1e+03") {
		t.Errorf("Fit with MaxParams 1000: got %v, want ErrTooLarge stating the limit", err)
	}
}

// TestLimitRealisticOptionsPass: defaults and generous real settings are
// within the limits on a large table (a million rows of 100 features).
// The bug it catches: limits so tight that they refuse real use.
func TestLimitRealisticOptionsPass(t *testing.T) {
	s := Shape{Rows: 1_000_000, Dims: 100}
	realistic := map[string][]map[string]string{
		"autoencoder": {{"hidden": "1024,512,256"}, {"hidden": "4096,4096", "batch_size": "256"}},
		"ae_1svm":     {{"rff_dim": "4096"}, {"rff_dim": "8192", "hidden": "256,64"}},
		"randnet":     {{"ensemble": "100"}},
		"rdp":         {{"refs": "4096", "rep_dim": "256"}, {"batch_size": "4096"}},
		"repen":       {{"ensemble_size": "200", "subsample": "64", "rep_dim": "128"}},
		"prenet":      {{"ensemble_size": "1000", "hidden": "1000,250,20", "batch_size": "4096"}},
		"dagmm":       {{"n_components": "32", "hidden": "256,64,8"}},
		"ae_knn":      {{"max_reference": "100000", "k": "50"}},
		"vae":         {{"latent": "512", "hidden": "1024,512"}},
		"neutral":     {{"transforms": "32", "hidden": "256,256,256,256", "rep_dim": "128", "trans_hidden": "256"}},
		"sdor":        {{"ensemble_size": "200", "subsample": "64", "hidden": "1024,512", "iterations": "20"}},
	}
	for _, alg := range Algorithms() {
		for _, o := range append([]map[string]string{{}}, realistic[alg]...) {
			if err := ValidateOptions(alg, o); err != nil {
				t.Errorf("%s %v: ValidateOptions: %v", alg, o, err)
				continue
			}
			a, name, norm, err := resolve(alg, o)
			if err != nil {
				t.Fatal(err)
			}
			sh := shapeFor(s.Rows, s.Dims, norm)
			if err := checkFootprint(name, a, norm, givenNames(o), sh, DefaultLimits); err != nil {
				t.Errorf("%s %v on %d×%d: %v", alg, o, s.Rows, s.Dims, err)
			}
		}
	}
}

// TestLimitFootprintCoversState: for every algorithm, the estimate covers
// the state Fit really builds (an underestimate would let a too-large
// model through) and is not wildly above it (an overestimate would refuse
// real models). The bug it catches: a tensor added to Init or Finish but
// not to Footprint.
func TestLimitFootprintCoversState(t *testing.T) {
	tb := synthetic(300, 4, 3)
	for _, alg := range Algorithms() {
		if IsSequence(alg) {
			continue // a window row's width is not the table's: detectors/predictability
		}
		o := map[string]string{"epochs": "1"}
		specs := optionSpecs(mustLookup(t, alg))
		if _, ok := specs["pretrain_epochs"]; ok {
			o["pretrain_epochs"] = "1"
		}
		if _, ok := specs["steps"]; ok {
			o["steps"] = "2"
		}
		if _, ok := specs["bins"]; ok { // ape: numeric columns bucketed
			o["bins"] = "4"
		}
		m := fitSynthetic(t, alg, tb, o)
		var actual int64
		for _, tn := range m.state.Tensors {
			actual += int64(len(tn.Data))
		}
		est := m.alg.Footprint(shapeFor(tb.Rows, tb.Cols, m.opts), m.opts)
		// How far above the saved state Footprint.Params may be: 3 times
		// (working copies), 5 for alad, whose Finish drops the
		// discriminators its training held (it keeps E, G and D_xx's
		// features: about a quarter).
		slack := int64(3)
		if alg == "alad" {
			slack = 5
		}
		if est.Params < actual || est.Params > slack*actual+100 {
			t.Errorf("%s: Footprint.Params %d for a state of %d values", alg, est.Params, actual)
		}
		if est.Trainable <= 0 || est.Trainable > est.Params {
			t.Errorf("%s: Footprint.Trainable %d (Params %d)", alg, est.Trainable, est.Params)
		}
	}
}

func mustLookup(t testing.TB, alg string) Algorithm {
	t.Helper()
	a, _, err := lookup(alg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLimitCancelStopsEnsemble: a cancelled context (KILL QUERY) stops a
// large ensemble within a second, with the context's error. The bug it
// catches: a loop over ensemble members, epochs or outer iterations that
// does not look at the context.
func TestLimitCancelStopsEnsemble(t *testing.T) {
	tb := synthetic(2000, 5, 4)
	mem := checkedMem(t)
	bs := tb.NullBatches(mem, 1000)
	defer releaseAll(bs)
	for _, c := range []struct {
		alg string
		o   map[string]string
	}{
		{"randnet", map[string]string{"ensemble": "1000", "hidden": "16,8"}},
		{"robust_autoencoder", map[string]string{"outer_iterations": "1000", "epochs": "100000", "hidden": "16,8"}},
		{"autoencoder", map[string]string{"epochs": "100000", "hidden": "16,8"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		_, err := Fit(ctx, c.alg, c.o, TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s %v: got %v, want the context's error", c.alg, c.o, err)
		}
		// Uncancelled, each of these trains for minutes: a generous bound
		// catches a loop that ignores the context without failing on a
		// loaded machine.
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s %v: Fit returned %v after a 300ms deadline", c.alg, c.o, d-300*time.Millisecond)
		}
	}
}

package detectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// toyGame is a two-player game over two scalars, small enough to replay
// by hand: the discriminator's d chases the generator's g, minimizing
// (d − g)², and g chases 2d + 1, minimizing (g − 2d − 1)². Each graph
// uses both scalars, so a player that updated the other's tensor, or
// read it before the other's step, would end elsewhere.
type toyGame struct {
	d, g Player
}

// newToyGame returns the game with the discriminator taking dSteps steps
// on every mini-batch and the generator one on every gEvery-th, each with
// its own learning rate and decay rates.
func newToyGame(dSteps, gEvery int) *toyGame {
	return &toyGame{
		d: Player{Name: "discriminator", Trains: []string{"d."}, Graph: toyDGraph, LR: 0.05, Beta1: 0.5, Beta2: 0.99, Steps: dSteps},
		g: Player{Name: "generator", Trains: []string{"g."}, Graph: toyGGraph, LR: 0.02, Beta1: 0, Beta2: 0.9, Every: gEvery},
	}
}

func (t *toyGame) Players(int, Options) []Player { return []Player{t.d, t.g} }

// Graph is the game's monitored objective (never trained): (d − g)².
func (t *toyGame) Graph(b *Graph) (Objective, error) { return toyDGraph(b) }

func toyDGraph(b *Graph) (Objective, error) {
	diff := gorgonia.Must(gorgonia.Sub(b.Param("d.v"), b.Param("g.v")))
	return Objective{Loss: gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(diff))))}, nil
}

func toyGGraph(b *Graph) (Objective, error) {
	twoD := gorgonia.Must(gorgonia.Mul(b.Param("d.v"), gorgonia.NewConstant(2.0)))
	u := gorgonia.Must(gorgonia.Sub(gorgonia.Must(gorgonia.Sub(b.Param("g.v"), twoD)), gorgonia.NewConstant(1.0)))
	return Objective{Loss: gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(u))))}, nil
}

// toyState is the game's state: d = 0.3, g = −0.7, and a constant the
// graphs do not use.
func toyState() *State {
	st := &State{}
	st.Add("d.v", 1, 1, true).Data[0] = 0.3
	st.Add("g.v", 1, 1, true).Data[0] = -0.7
	st.Add("c", 1, 1, false)
	return st
}

// trainToy runs the template on the game: 12 rows of 2 features (which
// the game ignores), mini-batches of 4, 3 epochs.
func trainToy(t *testing.T, game Grapher, st *State, probe *trainProbe) error {
	t.Helper()
	return trainToyEpochs(t, game, st, probe, 3)
}

// trainToyEpochs is trainToy over the given number of epochs.
func trainToyEpochs(t *testing.T, game Grapher, st *State, probe *trainProbe, epochs int) error {
	t.Helper()
	o, err := normalizeOptions("test", deepSVDD{}, opts("epochs", fmt.Sprint(epochs), "batch_size", "4", "lr", "0.001", "weight_decay", "0", "seed", "4"))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 12*2)
	for i := range x {
		x[i] = float64(i)
	}
	return train(withTrainProbe(context.Background(), probe), game, st, x, 12, 2, nil, o, newRand(4))
}

// TestAdversaryMatchesReplay trains the toy game with the template and
// replays it by hand, with one Adam per player: on every mini-batch the
// discriminator takes its two steps, each from the state the previous
// step left, then, on every second mini-batch, the generator takes one
// against the updated discriminator. The states must be bit-identical,
// After must see each step's loss in that order, and each epoch's
// logged loss must be the sum of the players' mean mini-batch losses.
// Bugs it catches: a player updating the other's tensors (its graph
// uses them), one Adam for both, a player's LR or decay rates ignored,
// Steps or Every miscounted, the players stepping in the other order or
// both from the state before either step, a loss logged from one player
// only.
func TestAdversaryMatchesReplay(t *testing.T) {
	game := newToyGame(2, 2)
	var calls []string
	record := func(name string) func(*State, float64, *rand.Rand) error {
		return func(_ *State, loss float64, _ *rand.Rand) error {
			calls = append(calls, fmt.Sprintf("%s %v", name, loss))
			return nil
		}
	}
	game.d.After, game.g.After = record("D"), record("G")
	st := toyState()
	var probe trainProbe
	if err := trainToy(t, game, st, &probe); err != nil {
		t.Fatal(err)
	}

	// The replay: 3 epochs of 3 mini-batches.
	d, g := []float64{0.3}, []float64{-0.7}
	dAdam := newAdamBetas(0.05, 0, 0.5, 0.99, []int{1})
	gAdam := newAdamBetas(0.02, 0, 0, 0.9, []int{1})
	var want []string
	var epochLoss []float64
	batch := 0
	for range 3 {
		dSum, gSum, gN := 0.0, 0.0, 0
		for range 3 {
			batch++
			loss := 0.0
			for range 2 {
				u := d[0] - g[0]
				want = append(want, fmt.Sprintf("D %v", u*u))
				loss += u * u
				dAdam.step([][]float64{d}, [][]float64{{2 * u}})
			}
			dSum += loss / 2
			if batch%2 == 0 {
				u := (g[0] - d[0]*2) - 1
				want = append(want, fmt.Sprintf("G %v", u*u))
				gSum += u * u
				gN++
				gAdam.step([][]float64{g}, [][]float64{{2 * u}})
			}
		}
		l := dSum / 3
		if gN > 0 {
			l += gSum / float64(gN)
		}
		epochLoss = append(epochLoss, l)
	}
	if got := st.Get("d.v").Data[0]; math.Float64bits(got) != math.Float64bits(d[0]) {
		t.Errorf("d = %v, replay %v", got, d[0])
	}
	if got := st.Get("g.v").Data[0]; math.Float64bits(got) != math.Float64bits(g[0]) {
		t.Errorf("g = %v, replay %v", got, g[0])
	}
	if got, w := strings.Join(calls, "; "), strings.Join(want, "; "); got != w {
		t.Errorf("steps and losses:\n%s\nreplay:\n%s", got, w)
	}
	if got := fmt.Sprint(probe.runs); got != fmt.Sprint([][]float64{epochLoss}) {
		t.Errorf("epoch losses %s, replay %v", got, epochLoss)
	}
	if d[0] == 0.3 || g[0] == -0.7 {
		t.Fatal("the replay did not move")
	}
}

// TestAdversaryFailures: a NaN loss of either player, and an error of a
// player's After (a collapse it detects), end training with that error;
// misdeclared players are errors before the first step. Bugs caught: a
// finiteness check of the first player's loss only, an error of After
// dropped, players that share a tensor or train nothing accepted.
func TestAdversaryFailures(t *testing.T) {
	nanGraph := func(b *Graph) (Objective, error) { // log of −1
		v := gorgonia.Must(gorgonia.Sub(gorgonia.Must(gorgonia.Mul(b.Param("g.v"), gorgonia.NewConstant(0.0))), gorgonia.NewConstant(1.0)))
		return Objective{Loss: gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Log(v))))}, nil
	}
	for _, c := range []struct {
		name   string
		change func(*toyGame)
		want   error
		text   string
	}{
		{"generator NaN", func(g *toyGame) { g.g.Graph = nanGraph }, ErrDiverged, "generator's loss is NaN at epoch 1"},
		{"discriminator NaN", func(g *toyGame) { g.d.Graph = nanGraph; g.d.Trains = []string{"g."}; g.g.Trains = []string{"d."} }, ErrDiverged, "discriminator's loss is NaN"},
		{"collapse", func(g *toyGame) {
			n := 0
			g.g.After = func(*State, float64, *rand.Rand) error {
				if n++; n == 3 {
					return fmt.Errorf("%w: toy", ErrCollapsed)
				}
				return nil
			}
		}, ErrCollapsed, "toy"},
		{"shared tensor", func(g *toyGame) { g.g.Trains = []string{"g.", "d."} }, nil, "tensor d.v is trained by players discriminator and generator"},
		{"trains nothing", func(g *toyGame) { g.g.Trains = []string{"c"} }, nil, "generator: detectors: the objective trains no tensor"},
		{"no prefixes", func(g *toyGame) { g.g.Trains = nil }, nil, `player "generator" has no graph or trains no tensors`},
		{"bad beta", func(g *toyGame) { g.d.Beta1 = 1 }, nil, "decay rates 1 and 0.99"},
	} {
		game := newToyGame(1, 1)
		c.change(game)
		err := trainToy(t, game, toyState(), nil)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v, want %v with %q", c.name, err, c.want, c.text)
		}
	}
}

// recordedGame is a toy game that records both players' scalars at the
// end of every epoch (as an EpochEnder, before the template averages).
type recordedGame struct {
	*toyGame
	d, g []float64
}

func (r *recordedGame) EndEpoch(st *State, _ arrowio.Matrix, _ []float64, _, _ int, _ Options) error {
	r.d = append(r.d, st.Get("d.v").Data[0])
	r.g = append(r.g, st.Get("g.v").Data[0])
	return nil
}

// TestAdversaryAveraging trains the toy game over 5 epochs with the
// discriminator's weights averaged (Player.Average) and compares with
// the same game unaveraged: the epochs' weights must be the same (the
// game does not see the mean), and at the end d must be the running
// mean of its weights at the end of the epochs after ⌊After·5⌋ (3-5 by
// default, 2-5 with After 0.2), while g, not averaged, keeps its last
// epoch's. Bugs caught: the mean started one epoch early or late or at
// the first epoch, a wrong count in the running mean, the mean not
// copied into the weights at the end or copied after every epoch (then
// the game changes), the default fraction ignored, the other player
// averaged too.
func TestAdversaryAveraging(t *testing.T) {
	const epochs = 5
	plain := &recordedGame{toyGame: newToyGame(1, 1)}
	if err := trainToyEpochs(t, plain, toyState(), nil, epochs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		avg   Averaging
		first int // the first epoch in the mean, from 1
	}{{Averaging{}, 3}, {Averaging{After: 0.2}, 2}, {Averaging{Prefixes: []string{"d.v"}, After: 0.5}, 3}} {
		game := &recordedGame{toyGame: newToyGame(1, 1)}
		game.toyGame.d.Average = &c.avg
		st := toyState()
		if err := trainToyEpochs(t, game, st, nil, epochs); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(game.d, game.g) != fmt.Sprint(plain.d, plain.g) {
			t.Fatalf("%+v: the epochs' weights d %v, g %v; unaveraged d %v, g %v", c.avg, game.d, game.g, plain.d, plain.g)
		}
		mean, sum := 0.0, 0.0
		for e := c.first; e <= epochs; e++ {
			mean += (plain.d[e-1] - mean) / float64(e-c.first+1)
			sum += plain.d[e-1]
		}
		got := st.Get("d.v").Data[0]
		if math.Float64bits(got) != math.Float64bits(mean) || math.Abs(got-sum/float64(epochs-c.first+1)) > 1e-15 {
			t.Errorf("%+v: d = %v at the end; want %v, the mean of epochs %d-%d (last epoch's %v)", c.avg, got, mean, c.first, epochs, plain.d[epochs-1])
		}
		if got := st.Get("g.v").Data[0]; got != plain.g[epochs-1] {
			t.Errorf("%+v: g = %v at the end; want its last epoch's %v (g is not averaged)", c.avg, got, plain.g[epochs-1])
		}
	}
	if plain.d[2] == plain.d[4] {
		t.Fatal("the toy game's d does not move between epochs")
	}
}

// TestAdversaryAveragingErrors: an averaging fraction outside [0, 1) and
// prefixes that select none of the player's tensors are errors before
// the first step. Bugs caught: the range check left out or off by one at
// 1, prefixes matched against every tensor instead of the player's own.
func TestAdversaryAveragingErrors(t *testing.T) {
	for _, c := range []struct {
		avg  Averaging
		text string
	}{
		{Averaging{After: 1}, `player "discriminator" averages after a fraction 1 of the epochs`},
		{Averaging{After: -0.1}, "fraction -0.1 of the epochs"},
		{Averaging{Prefixes: []string{"g."}}, `player "discriminator" averages none of the tensors it trains`},
	} {
		game := newToyGame(1, 1)
		game.d.Average = &c.avg
		err := trainToy(t, game, toyState(), nil)
		if err == nil || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%+v: got %v, want an error with %q", c.avg, err, c.text)
		}
	}
}

// TestAveragerDoesNotAllocate: an epoch's end adds to the running means
// without allocating (they are allocated before the first epoch).
func TestAveragerDoesNotAllocate(t *testing.T) {
	var a averager
	a.add(2, make([]float64, 100), make([]float64, 7))
	if n := testing.AllocsPerRun(10, func() { a.endEpoch(4, 5) }); n != 0 {
		t.Errorf("endEpoch allocates %v times", n)
	}
}

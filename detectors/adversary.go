package detectors

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Adversary is implemented by algorithms trained as a game between
// networks, the generative adversarial networks of Goodfellow et al.
// (NeurIPS 2014) and their descendants: instead of one objective over
// all trainable tensors, every mini-batch steps several players in turn,
// each minimizing its own objective over its own tensors with its own
// Adam optimizer. The training template (train.go) does this itself: the
// epochs, the shuffled (or sampled) mini-batches, the seeded generator,
// sharding, early stopping, EpochEnder, the cancellation checks and the
// allocation-free steps are the same as for one objective, and a Driver
// or Pretrainer may train an Adversary's sub-objectives too.
//
// On each mini-batch the players play in the order Players returns them
// (the discriminator before the generator, as in Algorithm 1 of
// Goodfellow et al.): each takes Player.Steps optimizer steps on the
// mini-batch's rows, every one after its graph has been evaluated on the
// state the previous step left, with fresh noise. So the generator's step
// sees the discriminator as its step just updated it.
//
// Algorithm.Graph of an Adversary is not trained. It is the objective
// the validation option evaluates on held-out rows after every epoch
// (early stopping keeps the epoch where it is lowest), and its Scores,
// if any, are what tests compare the Scorer with. It should not depend
// on a player that is only there to train another (a discriminator), or
// early stopping follows the game rather than the model.
//
// Failures: a NaN or infinite loss of any player fails the run with
// ErrDiverged naming the player. A collapse (the generator mapping every
// row to the same output, say) is the algorithm's to detect, in
// Player.After, EpochEnder or Finisher, by returning an error wrapping
// ErrCollapsed. Either way Fit returns the error and no model: nothing
// half-trained is ever kept.
//
// A player's model may be its weights averaged over the last epochs
// rather than the last epoch's (Player.Average): a game that does not
// settle leaves the last epoch's networks wherever the cycle was.
//
// The training log's loss (TrainingLog, Model.TrainLoss) of an
// adversarial run is the sum over its players of each one's mean
// mini-batch loss in the epoch, each evaluated before its step.
type Adversary interface {
	// Players returns the players over d features, in the order they
	// play on each mini-batch. It is called once per training run, after
	// Init, pretraining and Prepare.
	Players(d int, o Options) []Player
}

// Player is one side of an adversarial game (see Adversary).
type Player struct {
	// Name names the player in errors ("discriminator", "generator").
	Name string
	// Trains holds the prefixes of the names of the trainable tensors the
	// player updates: a tensor is the player's if its name begins with one
	// of them. Its graph may use other tensors (a discriminator's graph
	// runs the generator to get the rows it judges); they are constants
	// for this player's step, and no gradient is computed for them. A
	// player must train at least one tensor its graph uses, and no tensor
	// may belong to two players.
	Trains []string
	// Graph builds the player's objective for one mini-batch, like
	// Algorithm.Graph: a RowLoss is sharded, a Loss is not; Scores is
	// ignored.
	Graph func(b *Graph) (Objective, error)
	// LR is the player's Adam learning rate; 0 means the lr option.
	LR float64
	// Beta1 and Beta2 are the decay rates of Adam's moment estimates, in
	// [0, 1), used as given (0 is a valid rate, not a default): Adam's
	// defaults are 0.9 and 0.999, DCGAN's (Radford et al. 2016), which
	// most GAN papers keep, 0.5 and 0.999, WGAN-GP's 0 and 0.9. The
	// weight_decay option applies to every player.
	Beta1, Beta2 float64
	// Steps is the number of optimizer steps the player takes on each
	// mini-batch it plays (k of Goodfellow et al.'s Algorithm 1); 0 means
	// 1. Every step draws its own noise; the rows are the mini-batch's.
	Steps int
	// Every makes the player play only on every Every-th mini-batch of
	// the run (the 5th, 10th, ...; counting continues across epochs); 0
	// means every mini-batch. A generator with Every 5 behind a critic
	// that plays every mini-batch is WGAN's n_critic = 5, the critic
	// seeing a fresh mini-batch at each of its steps.
	Every int
	// After, if not nil, is called after each of the player's optimizer
	// steps with the loss that step minimized (evaluated before it) and
	// the run's generator, for the paper's stabilisation (GANomaly
	// reinitializes its discriminator when the discriminator's loss falls
	// below 1e-5) or to detect a collapse (return an error wrapping
	// ErrCollapsed). It may change the player's tensors in place but
	// must not add or remove tensors, and should not allocate when it
	// does nothing (a training step allocates nothing).
	After func(st *State, loss float64, rng *rand.Rand) error
	// Average, if not nil, makes the model the player's weights averaged
	// over the last epochs instead of the last epoch's (see Averaging).
	Average *Averaging
}

// Averaging replaces some of a player's tensors, at the end of training,
// by their mean over the last epochs: Polyak averaging of a GAN's
// weights, which Yazıcı, Foo, Winkler, Yap, Piliouras and Chandrasekhar
// ("The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019)
// show to damp the cycling of the game, where one epoch's network ranks
// rows very differently from the next.
//
// Of E epochs, epoch e (counting from 1) joins the mean if e > ⌊After·E⌋:
// at the end of each such epoch, after the algorithm's EpochEnder, the
// template updates the running mean m ← m + (w − m)/k of each averaged
// tensor w, k the number of epochs in the mean so far (m starts at 0, so
// after the first it is w exactly), and at the end of epoch E it copies
// m into w. The running means live in the trainer, not the State: they
// are allocated once before the first epoch (an epoch's end allocates
// nothing) and persisted nowhere but in the final weights. The weights
// the players train on are never replaced before the end, so the game
// itself is the same with or without averaging.
//
// With the validation option, the epoch E's state early stopping
// evaluates is the averaged one, and early stopping keeps whichever
// epoch's state is best; a run stopped before epoch E keeps that
// epoch's weights, unaveraged.
type Averaging struct {
	// Prefixes selects the averaged tensors among those the player
	// trains: the ones whose names begin with one of them; nil means
	// every tensor the player trains. It must select at least one.
	Prefixes []string
	// After is the fraction of the epochs that do not join the mean, in
	// [0, 1); 0 means 1/2, the second half of the epochs (to average over
	// every epoch, give a fraction below 1/E).
	After float64
}

// averageAfter is Averaging.After's default: the second half of the
// epochs.
const averageAfter = 0.5

// averages reports whether the averaging covers the tensor called name
// (which the player trains).
func (a *Averaging) averages(name string) bool {
	if a.Prefixes == nil {
		return true
	}
	for _, pre := range a.Prefixes {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	return false
}

// averager keeps the running means of a training run's averaged tensors
// (see Averaging).
type averager struct {
	w, mean [][]float64 // the averaged tensors' data and their running means
	from    []int       // for each, the epochs before its mean starts
}

// add makes the tensors w, of a player whose averaging starts after
// epoch from, averaged.
func (a *averager) add(from int, w ...[]float64) {
	for _, v := range w {
		a.w = append(a.w, v)
		a.mean = append(a.mean, make([]float64, len(v)))
		a.from = append(a.from, from)
	}
}

// endEpoch adds the weights at the end of epoch (counting from 1) of
// epochs to the means they join, and after the last epoch copies each
// mean into its weights. It allocates nothing.
func (a *averager) endEpoch(epoch, epochs int) {
	for i, w := range a.w {
		k := epoch - a.from[i]
		if k < 1 {
			continue
		}
		m := a.mean[i]
		for j, v := range w {
			m[j] += (v - m[j]) / float64(k)
		}
		if epoch == epochs {
			copy(w, m)
		}
	}
}

// trains reports whether the player updates the tensor called name.
func (p *Player) trains(name string) bool {
	for _, pre := range p.Trains {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	return false
}

// playersOf returns the players of a training run of alg over dims
// features: an Adversary's, with their defaults filled in and checked, or else one player minimizing alg's
// objective over every trainable tensor it uses, with the template's
// Adam.
func playersOf(alg Grapher, dims int, cfg trainConfig, opts Options) ([]Player, error) {
	adv, ok := alg.(Adversary)
	if !ok {
		return []Player{{Graph: alg.Graph, LR: cfg.lr, Beta1: adamBeta1, Beta2: adamBeta2, Steps: 1, Every: 1}}, nil
	}
	ps := adv.Players(dims, opts)
	if len(ps) == 0 {
		return nil, fmt.Errorf("detectors: an adversarial algorithm has no players")
	}
	for i := range ps {
		p := &ps[i]
		if p.Graph == nil || len(p.Trains) == 0 {
			return nil, fmt.Errorf("detectors: player %q has no graph or trains no tensors", p.Name)
		}
		if p.LR == 0 {
			p.LR = cfg.lr
		}
		if !(p.Beta1 >= 0 && p.Beta1 < 1 && p.Beta2 >= 0 && p.Beta2 < 1) {
			return nil, fmt.Errorf("detectors: player %q has Adam decay rates %v and %v, want them in [0, 1)", p.Name, p.Beta1, p.Beta2)
		}
		p.Steps, p.Every = max(p.Steps, 1), max(p.Every, 1)
		if p.Average != nil { // a copy: the algorithm's may be shared
			a := *p.Average
			if !(a.After >= 0 && a.After < 1) {
				return nil, fmt.Errorf("detectors: player %q averages after a fraction %v of the epochs, want one in [0, 1)", p.Name, a.After)
			}
			if a.After == 0 {
				a.After = averageAfter
			}
			p.Average = &a
		}
	}
	return ps, nil
}

// playerGraph is the Grapher of one player of an Adversary: its graph,
// differentiated only by the tensors the player trains.
type playerGraph struct{ p *Player }

func (g playerGraph) Graph(b *Graph) (Objective, error) { return g.p.Graph(b) }

// trainedBy returns the filter of the trainable tensors alg's objective
// is differentiated by: a player's own, or nil for every one it uses.
func trainedBy(alg Grapher) func(name string) bool {
	if g, ok := alg.(playerGraph); ok {
		return g.p.trains
	}
	return nil
}

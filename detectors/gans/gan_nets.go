package gans

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
)

// This file holds the plain GAN that anogan and fast_anogan share: a
// generator G from a standard normal latent code to a row and a
// discriminator (WGAN's critic) D whose last hidden layer is the
// feature map f both papers match rows on.

// Tensor prefixes of the shared GAN.
const (
	ganG     = "g."   // generator
	ganD     = "d."   // discriminator or critic:
	ganDFeat = "d.f." // its features f
	ganDOut  = "d.c." // its output (logit or critic value)
)

// ganCollapse is the share of the training rows' total variance below
// which the generated rows' total variance means a collapse.
const ganCollapse = 1e-6

// ganCollapseDraws is the number of latent codes the collapse check
// generates rows from.
const ganCollapseDraws = 256

// gan is the generator and discriminator over d features, sized by the
// hidden and latent options: G is latent → reversed hidden → d with
// ReLU hidden layers and a linear output (DCGAN's generator, whose tanh
// output suits images in [−1, 1], not standardized rows); D is d →
// hidden with leaky ReLU of slope 0.2 after every layer (f, DCGAN's
// discriminator) and a linear unit on f.
type gan struct {
	g, dFeat, dOut nn.MLP
	latent         int
}

func newGAN(d int, o detectors.Options) gan {
	hidden, latent := o.Ints("hidden"), o.Int("latent")
	rev := slices.Clone(hidden)
	slices.Reverse(rev)
	gen := append(append([]int{latent}, rev...), d)
	return gan{
		g:      nn.MLP{Prefix: ganG, Sizes: gen, Bias: true, Hidden: nn.ReLU, Output: nn.Identity},
		dFeat:  nn.MLP{Prefix: ganDFeat, Sizes: append([]int{d}, hidden...), Bias: true, Hidden: nn.DCGANLeakyReLU, Output: nn.DCGANLeakyReLU},
		dOut:   nn.MLP{Prefix: ganDOut, Sizes: []int{hidden[len(hidden)-1], 1}, Bias: true, Output: nn.Identity},
		latent: latent,
	}
}

func (n gan) all() []nn.MLP { return []nn.MLP{n.g, n.dFeat, n.dOut} }

// footprint is the networks' parameters; RowValues counts one pass of G
// and two of D (real and generated rows) per row.
func (n gan) footprint() detectors.Footprint {
	var f detectors.Footprint
	for _, m := range n.all() {
		f = f.Plus(m.Footprint())
	}
	f.RowValues = n.g.Footprint().RowValues + 2*(n.dFeat.Footprint().RowValues+1) + int64(n.latent)
	return f
}

func (n gan) init(st *detectors.State, rng *rand.Rand) {
	for _, m := range n.all() {
		m.Init(st, rng)
	}
}

// dropHead removes D's output layer from st: scoring uses f only.
func dropHead(st *detectors.State) {
	st.Tensors = slices.DeleteFunc(st.Tensors, func(t *detectors.Tensor) bool {
		return len(t.Name) >= len(ganDOut) && t.Name[:len(ganDOut)] == ganDOut
	})
}

// checkCollapse fails with detectors.ErrCollapsed if the rows G generates
// from ganCollapseDraws standard normal codes (drawn from a generator
// seeded by seed) are all alike: their total variance at most
// ganCollapse times the training rows x's.
func (n gan) checkCollapse(name string, st *detectors.State, x arrowio.Matrix, seed int64) error {
	g, err := n.g.Kernel(st)
	if err != nil {
		return err
	}
	rows, gen := detectors.NewSpread(x.Cols), detectors.NewSpread(x.Cols)
	for i := 0; i < x.Rows; i++ {
		rows.Add(x.Data[i*x.Cols : (i+1)*x.Cols])
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6a09e667f3bcc909))
	z, s := make([]float64, n.latent), make([]float64, g.ScratchLen())
	for range ganCollapseDraws {
		for j := range z {
			z[j] = rng.NormFloat64()
		}
		gen.Add(g.Forward(z, s))
	}
	if v, vg := rows.Total(), gen.Total(); v > 0 && !(vg > ganCollapse*v) {
		return fmt.Errorf("%w: %s: the generator makes every row alike (variance %.3g of the rows' %.3g); try a smaller lr, or another seed", detectors.ErrCollapsed, name, vg, v)
	}
	return nil
}

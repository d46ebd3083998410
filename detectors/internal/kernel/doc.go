// Package kernel holds the inner loops of detector inference.
//
// Contract: every kernel has a portable Go implementation and may have an
// assembly one selected at run time by CPU features. Both perform exactly
// the same IEEE-754 operations in the same order for every output element
// (separate multiply and add, no fused multiply-add), so their results are
// bit-identical and a model scores the same on every machine and in every
// build (the portable code converts each product to float64 before adding
// it, which forbids the compiler to fuse the two). The kernels never allocate and never retain their slices.
package kernel

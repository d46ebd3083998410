// Package kernel holds the inner loops of detector inference.
//
// Contract: every kernel has a portable Go implementation and may have an
// assembly one selected at run time by CPU features. Both perform exactly
// the same IEEE-754 operations in the same order for every output element
// (separate multiply and add, no fused multiply-add), so their results are
// bit-identical and a model scores the same on every amd64 machine and in
// every build. The kernels never allocate and never retain their slices.
package kernel

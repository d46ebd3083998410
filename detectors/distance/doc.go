// Package distance holds the detectors of the survey's §5.2.1 (Pang et
// al., "Deep Learning for Anomaly Detection: A Review", 2021), anomaly
// measure-dependent feature learning for distance-based measures: the
// representation is learned so that a distance-based score separates
// anomalies well.
//
//   - repen: ranking-based representations for random nearest-neighbour
//     distance scoring, LeSiNN (Pang et al., KDD 2018).
//   - rdp: random distance prediction (Wang et al., IJCAI 2020), the
//     representation that preserves random-projection distances, scored
//     by the distance prediction error.
//
// Each registers with the detectors core from init.
package distance

package engine

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
)

// ALTER DETECTOR [db.]name SET contamination = c
// ALTER DETECTOR [db.]name SET threshold = t
//
// moves a detector's threshold without retraining: to the (1 - c)
// quantile of the training-score distribution the detector keeps
// (detectors.Model.WithContamination; c in (0, 0.5]), or to t
// (WithThreshold; finite, below the largest DOUBLE). The new detector is
// saved (atomically and durably, storage.SaveDetector) before it replaces
// the old one in memory, and the detectors' generation changes, so that
// is_anomaly in every connection, including prepared statements and
// statements between two blocks of rows, uses the new threshold; so does
// the server after a restart. It needs CREATE on the detector's database,
// as CREATE DETECTOR, and commits an open transaction first. Errors: 1305
// unknown detector, 1210 a value out of range or not a number, 1235 SET
// contamination of a detector saved before distributions were kept, 1457
// a detector that failed to load. The value may be a ? placeholder of a
// prepared statement.

// alterDetectorNode is ALTER DETECTOR [db.]name SET setting = value.
type alterDetectorNode struct {
	svc      *detectorService
	db, name string
	setting  string // "contamination" or "threshold"
	value    string // the value's text ("" for ?, until bound)
	param    bool   // the value is ?
	unbound  bool   // the ? has no value: the statement was not prepared
	query    string // the statement, for errors
}

var _ detectorNode = (*alterDetectorNode)(nil)

// parseAlterDetector parses what follows ALTER: DETECTOR [db.]name SET
// contamination|threshold = number|'number'|? [;].
func (p *parser) parseAlterDetector() (*alterDetectorNode, error) {
	p.next() // DETECTOR
	n := &alterDetectorNode{query: p.query}
	var err error
	if n.db, n.name, err = p.qualifiedName(); err != nil {
		return nil, err
	}
	if err := p.expectKeyword("SET"); err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case kw(t, "contamination"), kw(t, "threshold"):
		n.setting = strings.ToLower(t.text)
		p.next()
	default:
		return nil, p.fail("expected contamination or threshold")
	}
	if t := p.peek(); t.kind != 'p' || t.text != "=" {
		return nil, p.fail("expected = after " + n.setting)
	}
	p.next()
	switch v := p.peek(); {
	case v.kind == 'n' || v.kind == 's' || v.kind == 'i':
		n.value = v.text // checked when the statement runs, as a bound value is
	case v.kind == 'p' && v.text == "?":
		n.param = true
	default:
		return nil, p.fail("expected a value for " + n.setting)
	}
	p.next()
	if err := p.end(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *alterDetectorNode) setService(s *detectorService) { n.svc = s }

func (n *alterDetectorNode) params() int {
	if n.param {
		return 1
	}
	return 0
}

// WithResolvedChildren implements ast.Injectable: the value bound to
// SET … = ?, if any.
func (n *alterDetectorNode) WithResolvedChildren(children []any) (any, error) {
	if len(children) != n.params() {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(children), n.params())
	}
	if len(children) == 0 {
		return n, nil
	}
	nn := *n
	v, bound, err := boundText(children[0])
	if err != nil {
		return nil, errWrongArguments("ALTER DETECTOR: %s %v", n.setting, err)
	}
	nn.value, nn.unbound = v, !bound
	return &nn, nil
}

// Resolved implements sql.Node.
func (n *alterDetectorNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *alterDetectorNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *alterDetectorNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// IsReadOnly implements sql.Node.
func (n *alterDetectorNode) IsReadOnly() bool { return false }

// Schema implements sql.Node.
func (n *alterDetectorNode) Schema() sql.Schema { return types.OkResultSchema }

// String implements sql.Node.
func (n *alterDetectorNode) String() string {
	return fmt.Sprintf("ALTER DETECTOR %s SET %s = %s", n.name, n.setting, n.value)
}

// RowIter implements sql.ExecSourceRel.
func (n *alterDetectorNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	if n.unbound {
		return nil, errUnbound(n.query)
	}
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Create, n.db, n.name); err != nil {
		return nil, err
	}
	if err := implicitCommit(ctx); err != nil {
		return nil, err
	}
	if err := n.svc.alterThreshold(ctx, n); err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
}

// decimalNumber is a number as SQL writes one: [+-] digits [. digits]
// [e [+-] digits], with at least one digit before the exponent; not
// hexadecimal, inf or nan, which strconv.ParseFloat also takes.
var decimalNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// alterThreshold carries out n: the detector's model is replaced by one
// with the new threshold, saved first. It changes nothing on error.
func (s *detectorService) alterThreshold(ctx *sql.Context, n *alterDetectorNode) error {
	db, name, err := resolveName(ctx, n.db, n.name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byDB[strings.ToLower(db)][strings.ToLower(name)]
	switch {
	case !ok:
		return errDetectorNotFound(name)
	case d.loadErr != nil:
		return errDetectorCorrupt(db, d.name, d.loadErr)
	}
	text := strings.TrimSpace(n.value)
	v, perr := strconv.ParseFloat(text, 64)
	if !decimalNumber.MatchString(text) {
		perr = errors.New("not a number")
	}
	var m *detectors.Model
	switch {
	case n.setting == "contamination" && (perr != nil || !(v > 0 && v <= detectors.MaxContamination)):
		return errWrongArguments("ALTER DETECTOR: contamination must be a number in (0, %v], got '%s'", detectors.MaxContamination, n.value)
	case n.setting == "contamination":
		m, err = d.model.WithContamination(v)
	case perr != nil || v >= detectors.MaxScore:
		// ParseFloat's range error (1e400) is perr: a finite number is needed.
		return errWrongArguments("ALTER DETECTOR: threshold must be a finite number below %v, got '%s'", detectors.MaxScore, n.value)
	default:
		m, err = d.model.WithThreshold(v)
	}
	switch {
	case errors.Is(err, detectors.ErrNoScoreDistribution):
		return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000",
			"ALTER DETECTOR %s SET contamination: the detector was saved by an older anomalydb, without the distribution of its training scores; create it again, or SET threshold", name)
	case errors.Is(err, detectors.ErrBadOption):
		return errWrongArguments("ALTER DETECTOR: %v", err)
	case err != nil:
		return err
	}
	blob, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if err := s.store.SaveDetector(db, d.name, blob); err != nil {
		return err
	}
	d.model = m // the rest of d (its name, …) stays
	s.byDBLocked(db)[strings.ToLower(name)] = d
	s.gen.Add(1)
	return nil
}

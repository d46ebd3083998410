// Command mutants checks that the test suite bites: it applies a curated
// list of one-line mutations of core behaviour to a copy of the
// repository, one at a time, runs the tests named for each, and reports
// which mutants the tests killed (made fail) and which survived.
//
//	go run ./cmd/mutants [-list cmd/mutants/mutants.txt] [-only id,id] [-keep]
//
// It prints one line per mutant and then "N mutants, K killed"; it exits 1
// when a mutant survives or a list entry is invalid (its line not found
// exactly once, or the mutated code does not compile, which would make a
// "kill" meaningless), so `make mutants` fails on either.
//
// The list format is blocks of "key: value" lines separated by blank
// lines; '#' starts a comment line. The value is everything after the
// colon and one space, leading tabs included (from and to match source
// text exactly, indentation and all):
//
//	id: optimizer-step            a short unique name
//	why: weights never update     what the mutation breaks
//	file: detectors/train.go      path from the repository root
//	after: <exact source text>    optional: replace the first from after its first occurrence
//	from: <exact source text>     must occur exactly once in the file (without 'after')
//	to: <replacement text>
//	test: ./detectors -run '^TestX$'   go test arguments (package and flags)
//
// Before any mutant runs, each distinct test command runs once on the
// unmutated copy and must pass; otherwise every kill would be spurious.
// Tests run with -count=1 and a per-command timeout. The working copy
// lives in a temporary directory (removed unless -keep), so the checkout
// is never modified, even if the run is interrupted.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// mutant is one entry of the list.
type mutant struct {
	id, why, file, after, from, to, test string
	line                                 int // line of the list where the entry starts
}

func main() {
	list := flag.String("list", "cmd/mutants/mutants.txt", "mutation list")
	only := flag.String("only", "", "comma-separated ids to run (default all)")
	keep := flag.Bool("keep", false, "keep the working copy")
	timeout := flag.Duration("timeout", 10*time.Minute, "timeout of one test command")
	flag.Parse()
	if err := run(*list, *only, *keep, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

func run(listPath, only string, keep bool, timeout time.Duration) error {
	ms, err := parseList(listPath)
	if err != nil {
		return err
	}
	if only != "" {
		ms = selectIDs(ms, strings.Split(only, ","))
	}
	if len(ms) == 0 {
		return errors.New("no mutants selected")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "anomalydb-mutants-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("working copy:", work)
	} else {
		defer os.RemoveAll(work)
	}
	if err := copyTree(root, work); err != nil {
		return err
	}
	// Validate every entry before spending time on tests.
	for _, m := range ms {
		src, err := os.ReadFile(filepath.Join(work, m.file))
		if err != nil {
			return fmt.Errorf("%s (list line %d): %w", m.id, m.line, err)
		}
		if _, err := m.apply(string(src)); err != nil {
			return fmt.Errorf("%s (list line %d): %w", m.id, m.line, err)
		}
	}
	baseline := map[string]bool{}
	for _, m := range ms {
		if baseline[m.test] {
			continue
		}
		baseline[m.test] = true
		start := time.Now()
		res := goTest(work, m.test, timeout)
		if res.err != nil {
			return fmt.Errorf("baseline %q failed before any mutation (%v):\n%s", m.test, res.err, tail(res.out, 40))
		}
		fmt.Printf("baseline  ok    %6.1fs  go test %s\n", time.Since(start).Seconds(), m.test)
	}
	killed, invalid := 0, 0
	var survivors []string
	for _, m := range ms {
		path := filepath.Join(work, m.file)
		orig, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		mutated, err := m.apply(string(orig))
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(mutated), 0o644); err != nil {
			return err
		}
		start := time.Now()
		res := goTest(work, m.test, timeout)
		if err := os.WriteFile(path, orig, 0o644); err != nil {
			return err
		}
		verdict := "SURVIVED"
		switch {
		case res.buildFailed:
			verdict = "INVALID (does not compile)"
			invalid++
		case res.err != nil:
			verdict = "killed"
			killed++
		default:
			survivors = append(survivors, m.id)
		}
		fmt.Printf("%-28s %-8s %6.1fs  %s\n", m.id, verdict, time.Since(start).Seconds(), m.why)
		if res.buildFailed {
			fmt.Println(tail(res.out, 20))
		}
	}
	fmt.Printf("%d mutants, %d killed\n", len(ms), killed)
	if len(survivors) > 0 || invalid > 0 {
		return fmt.Errorf("%d survived (%s), %d invalid", len(survivors), strings.Join(survivors, ", "), invalid)
	}
	return nil
}

// apply returns src with the mutation applied. Without 'after', from must
// occur exactly once in src; with it, the first occurrence of from after
// the first occurrence of after is replaced.
func (m mutant) apply(src string) (string, error) {
	head, tail := "", src
	if m.after != "" {
		i := strings.Index(src, m.after)
		if i < 0 {
			return "", fmt.Errorf("'after' not found in %s", m.file)
		}
		head, tail = src[:i], src[i:]
	}
	if m.after == "" {
		if n := strings.Count(tail, m.from); n != 1 {
			return "", fmt.Errorf("'from' occurs %d times in %s, want exactly once (or give 'after')", n, m.file)
		}
	} else if !strings.Contains(tail, m.from) {
		return "", fmt.Errorf("'from' does not occur after 'after' in %s", m.file)
	}
	return head + strings.Replace(tail, m.from, m.to, 1), nil
}

// testResult is the outcome of one go test command.
type testResult struct {
	out         string
	err         error
	buildFailed bool
}

// goTest runs "go test -count=1 <args>" in dir. A compile error of the
// package under test is reported as buildFailed, not as a test failure.
func goTest(dir, args string, timeout time.Duration) testResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append([]string{"test", "-count=1"}, splitArgs(args)...)
	cmd := exec.CommandContext(ctx, "go", argv...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	out, err := cmd.CombinedOutput()
	s := string(out)
	build := err != nil && (strings.Contains(s, "[build failed]") || strings.Contains(s, "[setup failed]"))
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	return testResult{out: s, err: err, buildFailed: build}
}

// splitArgs splits a test command on spaces, honouring single quotes.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// parseList reads the mutation list (format in the package comment).
func parseList(path string) ([]mutant, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mutant
	var cur *mutant
	seen := map[string]bool{}
	flush := func() error {
		if cur == nil {
			return nil
		}
		m := *cur
		cur = nil
		if m.id == "" || m.file == "" || m.from == "" || m.test == "" {
			return fmt.Errorf("%s:%d: entry needs id, file, from and test", path, m.line)
		}
		if m.from == m.to {
			return fmt.Errorf("%s:%d: %s: from and to are the same", path, m.line, m.id)
		}
		if seen[m.id] {
			return fmt.Errorf("%s:%d: duplicate id %s", path, m.line, m.id)
		}
		seen[m.id] = true
		ms = append(ms, m)
		return nil
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t")
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want 'key: value'", path, n)
		}
		if cur == nil {
			cur = &mutant{line: n}
		}
		val = strings.TrimPrefix(val, " ")
		switch strings.TrimSpace(key) {
		case "id":
			cur.id = val
		case "why":
			cur.why = val
		case "file":
			cur.file = val
		case "after":
			cur.after = val
		case "from":
			cur.from = val
		case "to":
			cur.to = val
		case "test":
			cur.test = val
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q", path, n, key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return ms, nil
}

func selectIDs(ms []mutant, ids []string) []mutant {
	want := map[string]bool{}
	for _, id := range ids {
		want[strings.TrimSpace(id)] = true
	}
	var out []mutant
	for _, m := range ms {
		if want[m.id] {
			out = append(out, m)
		}
	}
	return out
}

// copyTree copies the files git knows of (tracked, and untracked but not
// ignored) from root to dst, so build outputs and data directories stay
// behind.
func copyTree(root, dst string) error {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		if err := copyFile(filepath.Join(root, rel), filepath.Join(dst, rel)); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted in the work tree
			}
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

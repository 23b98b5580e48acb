package tail

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// pattern is one entry's path: a plain file, a glob, or a glob with "**" (any number of
// directories), plus its exclude globs.
type pattern struct {
	glob     string
	segs     []string // glob split on "/"; nil unless it holds "**"
	base     string   // longest directory prefix without glob metacharacters
	excludes []string
}

func newPattern(glob string, excludes []string) pattern {
	p := pattern{glob: filepath.Clean(glob), excludes: excludes}
	if strings.Contains(p.glob, "**") {
		p.segs = strings.Split(p.glob, "/")
	}
	segs := strings.Split(p.glob, "/")
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	p.base = strings.Join(segs[:i], "/")
	if p.base == "" {
		p.base = "/"
	}
	return p
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// expand returns the paths matching the pattern (sorted, excludes applied) and the
// directories worth watching for new matches.
func (p pattern) expand() (paths, dirs []string) {
	if p.segs == nil {
		matches, _ := filepath.Glob(p.glob) // the only error is a bad pattern, refused at Update
		for _, m := range matches {
			if !p.excluded(m) {
				paths = append(paths, m)
			}
		}
		dir := filepath.Dir(p.glob)
		if hasMeta(dir) {
			dirs, _ = filepath.Glob(dir)
		} else {
			dirs = []string{dir}
		}
		return paths, dirs
	}
	// "**": walk from the static base; WalkDir does not follow directory symlinks, which
	// also keeps a symlink loop from walking forever.
	_ = filepath.WalkDir(p.base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable subdirectory must not hide the rest
		}
		if d.IsDir() {
			dirs = append(dirs, path)
			return nil
		}
		if matchSegs(p.segs, strings.Split(path, "/")) && !p.excluded(path) {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	return paths, dirs
}

// match reports whether path matches the pattern (excludes applied).
func (p pattern) match(path string) bool {
	var ok bool
	if p.segs == nil {
		ok, _ = filepath.Match(p.glob, path)
	} else {
		ok = matchSegs(p.segs, strings.Split(path, "/"))
	}
	return ok && !p.excluded(path)
}

// excluded applies the exclude globs to the whole path and to the base name, so both
// "/var/log/app/*.gz" and "*.gz" work.
func (p pattern) excluded(path string) bool {
	for _, x := range p.excludes {
		if strings.Contains(x, "**") {
			if matchSegs(strings.Split(x, "/"), strings.Split(path, "/")) {
				return true
			}
			continue
		}
		if ok, _ := filepath.Match(x, path); ok {
			return true
		}
		if ok, _ := filepath.Match(x, filepath.Base(path)); ok {
			return true
		}
	}
	return false
}

// matchSegs matches path segments against glob segments where "**" stands for zero or
// more whole segments.
func matchSegs(glob, path []string) bool {
	for len(glob) > 0 {
		if glob[0] == "**" {
			rest := glob[1:]
			for i := 0; i <= len(path); i++ {
				if matchSegs(rest, path[i:]) {
					return true
				}
			}
			return false
		}
		if len(path) == 0 {
			return false
		}
		if ok, _ := filepath.Match(glob[0], path[0]); !ok {
			return false
		}
		glob, path = glob[1:], path[1:]
	}
	return len(path) == 0
}

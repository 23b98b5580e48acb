package tail

import (
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/logformat"
)

// Every physical line read goes through feed: out of its container envelope (cri,
// docker: partial lines joined), through the multiline joiner, into the batch, where the
// event time is found. The offsets of an event always span its first to its last
// physical line, so acknowledging it moves the checkpoint past every byte it stands for;
// parts still waiting for their end are not in any event, and so not acknowledged.

// lineMeta is what the envelope said about a line: its time (zero: look in the line) and
// its fields (nil: the entry's).
type lineMeta struct {
	offset int64
	time   time.Time
	fields map[string]string
	bad    bool // not in the envelope's format
}

// initReaders gives a file found (or read again from its start) fresh joiners.
func (r *runner) initReaders(f *file) {
	f.joiner, f.env, f.envQ = nil, nil, nil
	if r.spec.hasMult {
		f.joiner = r.newJoiner()
	}
	if r.spec.parser.Format().Envelope() {
		f.env = logformat.NewAssembler(r.spec.parser.Format(), r.spec.e.MaxLineBytes)
		fields := r.spec.fields(f.path)
		f.streamFields = [3]map[string]string{
			withStream(fields, logformat.StreamStdout), withStream(fields, logformat.StreamStderr), fields,
		}
	}
}

// feed takes one physical line [off, end) of f into b.
func (r *runner) feed(f *file, b *batch, line []byte, off, end int64, trunc bool) {
	meta := lineMeta{offset: off}
	if f.env != nil {
		l, ok := f.env.Push(line, off, end, trunc)
		if !ok {
			return // a partial line: waits for the part that ends it
		}
		line, off, trunc = l.Msg, l.Offset, l.Truncated
		meta = f.envMeta(l)
	}
	if f.joiner == nil {
		b.line(line, off, end, trunc, meta)
		return
	}
	if f.env != nil {
		f.envQ = append(f.envQ, meta)
	}
	if ev, ok := f.joiner.Push(line, off, end, trunc); ok {
		b.line(ev.Line, ev.Offset, ev.End, ev.Truncated, f.takeMeta(ev.Offset, ev.End))
	}
}

// flushAll emits what f's joiners hold: the file ends here (closed for good, truncated).
// A partial container line is emitted as it is.
func (r *runner) flushAll(f *file, b *batch) {
	if f.env != nil {
		if l, ok := f.env.Flush(); ok {
			// Fed on as a whole line: the joiner (if any) decides where it belongs.
			meta := f.envMeta(l)
			if f.joiner == nil {
				b.line(l.Msg, l.Offset, l.End, l.Truncated, meta)
			} else {
				f.envQ = append(f.envQ, meta)
				if ev, ok := f.joiner.Push(l.Msg, l.Offset, l.End, l.Truncated); ok {
					b.line(ev.Line, ev.Offset, ev.End, ev.Truncated, f.takeMeta(ev.Offset, ev.End))
				}
			}
		}
	}
	r.flushJoiner(f, b)
}

// flushJoiner emits the pending multiline event (its timeout passed). A partial
// container line stays: its end is still to come.
func (r *runner) flushJoiner(f *file, b *batch) {
	if f.joiner == nil {
		return
	}
	if ev, ok := f.joiner.Flush(); ok {
		b.line(ev.Line, ev.Offset, ev.End, ev.Truncated, f.takeMeta(ev.Offset, ev.End))
	}
}

func (f *file) envMeta(l logformat.Line) lineMeta {
	m := lineMeta{offset: l.Offset, time: l.Time, bad: l.Bad}
	switch l.Stream {
	case logformat.StreamStdout:
		m.fields = f.streamFields[0]
	case logformat.StreamStderr:
		m.fields = f.streamFields[1]
	default:
		m.fields = f.streamFields[2]
	}
	return m
}

// takeMeta returns the envelope's meta of a multiline event [off, end): its first
// line's, and forgets the lines it covers.
func (f *file) takeMeta(off, end int64) lineMeta {
	m := lineMeta{offset: off}
	i := 0
	for ; i < len(f.envQ) && f.envQ[i].offset < end; i++ {
		if f.envQ[i].offset == off {
			m = f.envQ[i]
		}
	}
	f.envQ = f.envQ[:copy(f.envQ, f.envQ[i:])]
	return m
}

// eventTime returns the event time of a line read at now, counting a line whose time
// does not parse.
func (b *batch) eventTime(line []byte, meta lineMeta) time.Time {
	p := b.r.spec.parser
	switch {
	case !meta.time.IsZero():
		return meta.time
	case meta.bad:
		b.nTimeFail++
		return b.now
	case p.Off():
		return b.now
	}
	t, st := p.TimeCached(&b.timeCache, line, b.now)
	if st == logformat.Failed {
		b.nTimeFail++
	}
	return t
}

// fields returns the fields of the entry's events from the file at path: the entry's,
// and for format cri the pod's from the kubelet's path layout
// <pod logs dir>/<namespace>_<pod>_<uid>/<container>/<n>.log.
func (s *spec) fields(path string) map[string]string {
	var k8s map[string]string
	if s.e.Format == logformat.CRI {
		k8s = podFields(path)
	}
	if k8s == nil {
		return s.e.Fields
	}
	out := make(map[string]string, len(s.e.Fields)+len(k8s))
	maps.Copy(out, k8s)
	maps.Copy(out, s.e.Fields) // the entry's own fields win
	return out
}

// The field names of a kubelet log path.
const (
	FieldNamespace = "k8s.namespace"
	FieldPod       = "k8s.pod"
	FieldPodUID    = "k8s.pod_uid"
	FieldContainer = "k8s.container"
	FieldStream    = "stream"
)

// podFields reads the kubelet's layout <namespace>_<pod>_<uid>/<container>/<n>.log from
// the end of path, whatever the directory above it: /var/log/pods by default, but the
// kubelet's podLogsDir moves it and a DaemonSet may mount it elsewhere. The rotated
// <n>.log.<timestamp> keeps its pod. Namespace and pod names cannot hold "_" (DNS names),
// so the directory splits unambiguously; a namespace that is not a DNS label, or a file
// not named <n>.log…, is not the kubelet's.
func podFields(path string) map[string]string {
	dir, name := filepath.Split(path)
	if !kubeletLogName(name) {
		return nil
	}
	container := filepath.Base(dir)
	parts := strings.SplitN(filepath.Base(filepath.Dir(filepath.Clean(dir))), "_", 3)
	if len(parts) != 3 || !dnsLabel(parts[0]) || parts[1] == "" || parts[2] == "" || container == "" || container == "/" {
		return nil
	}
	return map[string]string{FieldNamespace: parts[0], FieldPod: parts[1], FieldPodUID: parts[2], FieldContainer: container}
}

// kubeletLogName reports a name of the form <restart count>.log, or that name with the
// suffix a rotation gives it.
func kubeletLogName(name string) bool {
	digits := len(name) - len(strings.TrimLeft(name, "0123456789"))
	rest := name[digits:]
	return digits > 0 && (rest == ".log" || strings.HasPrefix(rest, ".log."))
}

// dnsLabel reports an RFC 1123 label, as Kubernetes namespaces are.
func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// withStream returns a copy of fields with the stream added.
func withStream(fields map[string]string, stream string) map[string]string {
	out := make(map[string]string, len(fields)+1)
	maps.Copy(out, fields)
	out[FieldStream] = stream
	return out
}

package logformat

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSyslog reads an RFC 5424 line ("<34>1 2003-10-11T22:14:15.003Z host app 123 ID47
// [sd] msg") or an RFC 3164 line as files hold them ("<34>Oct 11 22:14:15 host app[123]:
// msg", the "<PRI>" often left out by the writer). Fields: priority, facility and
// severity (numbers) when there is a PRI, timestamp, hostname, appname, procid, msgid,
// structured_data, msg; "-" (RFC 5424's nil) is left out.
func parseSyslog(line string) ([]Field, error) {
	var fields []Field
	s := line
	if strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		pri, err := strconv.Atoi(s[1:max(end, 1)])
		if end < 2 || end > 4 || err != nil || pri > 191 {
			return nil, fmt.Errorf("%w: syslog priority expected at %q", ErrNoMatch, truncate(s))
		}
		fields = append(fields, Field{"priority", int64(pri)}, Field{"facility", int64(pri / 8)},
			Field{"severity", int64(pri % 8)})
		s = s[end+1:]
		if rest, ok := strings.CutPrefix(s, "1 "); ok {
			return parse5424(rest, fields)
		}
	}
	return parse3164(s, fields)
}

func parse5424(s string, fields []Field) ([]Field, error) {
	names := [...]string{"timestamp", "hostname", "appname", "procid", "msgid"}
	for _, name := range names {
		word, rest, ok := strings.Cut(s, " ")
		if !ok && name != "msgid" {
			return nil, fmt.Errorf("%w: syslog %s expected", ErrNoMatch, name)
		}
		if word != "-" {
			fields = append(fields, Field{name, word})
		}
		s = rest
	}
	switch {
	case strings.HasPrefix(s, "-"):
		s = strings.TrimPrefix(s[1:], " ")
	case strings.HasPrefix(s, "["):
		end := sdEnd(s)
		if end < 0 {
			return nil, fmt.Errorf("%w: syslog structured data not closed", ErrNoMatch)
		}
		fields = append(fields, Field{"structured_data", s[:end]})
		s = strings.TrimPrefix(s[end:], " ")
	}
	if s != "" {
		fields = append(fields, Field{"msg", strings.TrimPrefix(s, "\uFEFF")})
	}
	return fields, nil
}

// sdEnd returns the end of RFC 5424 structured data (one or more "[…]" elements, with
// \] escapes in values), or -1.
func sdEnd(s string) int {
	i := 0
	for i < len(s) && s[i] == '[' {
		i++
		for i < len(s) && s[i] != ']' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(s) {
			return -1
		}
		i++
	}
	return i
}

// parse3164 reads "Mmm dd hh:mm:ss host tag[pid]: msg".
func parse3164(s string, fields []Field) ([]Field, error) {
	if len(s) < 16 || month([]byte(s[:3])) == 0 || s[15] != ' ' {
		return nil, fmt.Errorf("%w: syslog timestamp (Jan _2 15:04:05) expected at %q", ErrNoMatch, truncate(s))
	}
	fields = append(fields, Field{"timestamp", s[:15]})
	s = s[16:]
	host, rest, ok := strings.Cut(s, " ")
	if !ok {
		return append(fields, Field{"msg", s}), nil
	}
	fields = append(fields, Field{"hostname", host})
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok || strings.ContainsAny(tag, " ") {
		return append(fields, Field{"msg", rest}), nil
	}
	if app, pid, ok := strings.Cut(tag, "["); ok && strings.HasSuffix(pid, "]") {
		fields = append(fields, Field{"appname", app}, Field{"procid", strings.TrimSuffix(pid, "]")})
	} else {
		fields = append(fields, Field{"appname", tag})
	}
	return append(fields, Field{"msg", msg}), nil
}

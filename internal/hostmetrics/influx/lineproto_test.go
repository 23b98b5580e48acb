package influx

import (
	"math"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"
)

func TestAppendLine(t *testing.T) {
	at := time.Unix(1764576000, 999_000_000)
	cases := []struct {
		name string
		p    hostmetrics.Point
		want string
	}{
		{"plain", hostmetrics.Point{Measurement: "mem", Tags: map[string]string{"host": "h1"},
			Fields: map[string]float64{"used": 2, "total": 8589934592}, Time: at},
			"mem,host=h1 total=8589934592,used=2 1764576000\n"},
		{"tag value with space, comma and equals", hostmetrics.Point{Measurement: "disk",
			Tags:   map[string]string{"host": "h1", "path": `/mnt/my disk,a=b`, "device": `C:\`},
			Fields: map[string]float64{"used_percent": 12.5}, Time: at},
			`disk,device=C:\,host=h1,path=/mnt/my\ disk\,a\=b used_percent=12.5 1764576000` + "\n"},
		{"measurement and field key escaping", hostmetrics.Point{Measurement: "my m,x=1",
			Tags: map[string]string{"k y": "v"}, Fields: map[string]float64{"f=1 x": 0.001}, Time: at},
			`my\ m\,x=1,k\ y=v f\=1\ x=0.001 1764576000` + "\n"},
		{"empty tag dropped, NaN dropped, large and tiny floats without exponent", hostmetrics.Point{Measurement: "x",
			Tags:   map[string]string{"host": "h", "cpu": ""},
			Fields: map[string]float64{"a": math.NaN(), "b": 1e21, "c": 1e-7, "d": math.Inf(1)}, Time: at},
			"x,host=h b=1000000000000000000000,c=0.0000001 1764576000\n"},
		{"newline in a tag", hostmetrics.Point{Measurement: "x", Tags: map[string]string{"host": "a\nb"},
			Fields: map[string]float64{"v": 1}, Time: at},
			`x,host=a\ b v=1 1764576000` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := AppendLine(nil, tc.p)
			if !ok || string(got) != tc.want {
				t.Errorf("got %q (ok %v)\nwant %q", got, ok, tc.want)
			}
		})
	}
}

func TestAppendLineNothingToWrite(t *testing.T) {
	p := hostmetrics.Point{Measurement: "x", Fields: map[string]float64{"a": math.NaN()}, Time: time.Unix(1, 0)}
	if got, ok := AppendLine([]byte("keep"), p); ok || string(got) != "keep" {
		t.Errorf("got %q ok %v, want the buffer unchanged and ok false", got, ok)
	}
}

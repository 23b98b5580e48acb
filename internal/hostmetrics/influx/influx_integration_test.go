//go:build integration

package influx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// Tag values with a space, a comma and '=' reach the real InfluxDB 1.x intact, in a
// database the writer creates.
func TestEscapedTagsRoundTripThroughInfluxDB(t *testing.T) {
	base := testenv.InfluxDBURL(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	db := "logcollect_it_escape_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		resp, err := http.PostForm(base+"/query", url.Values{"q": {`DROP DATABASE "` + db + `"`}})
		if err == nil {
			_ = resp.Body.Close()
		}
		// Keep-alive connections of the default transport would be goroutines goleak reports.
		http.DefaultClient.CloseIdleConnections()
	})
	w := startWriter(t, Config{URL: base, Database: db, BufferPoints: 10}, nil)
	path := `/mnt/my disk,a=b`
	_ = w.WritePoints(context.Background(), []hostmetrics.Point{{Measurement: "disk",
		Tags: map[string]string{"host": "web 1", "path": path}, Fields: map[string]float64{"total": 42.5},
		Time: time.Now()}})

	var got struct {
		Results []struct {
			Series []struct {
				Tags   map[string]string `json:"tags"`
				Values [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	await.Until(t, 10*time.Second, "the point in InfluxDB", func() bool {
		resp, err := http.PostForm(base+"/query", url.Values{"db": {db},
			"q": {`SELECT last("total") FROM "disk" GROUP BY "host", "path"`}})
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&got) == nil && len(got.Results) == 1 && len(got.Results[0].Series) == 1
	})
	s := got.Results[0].Series[0]
	if s.Tags["host"] != "web 1" || s.Tags["path"] != path || s.Values[0][1] != 42.5 {
		t.Errorf("stored tags %q values %v, want host %q path %q total 42.5", s.Tags, s.Values, "web 1", path)
	}
}

package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/tlsconf"
)

// ClientOpts are the options every client of the cluster shares (the agent's producer,
// its admin client that reads topic limits, the transfer's consumer and dead-letter
// producer): brokers, client id, TLS and SASL of the kafka config section.
func ClientOpts(cfg config.Kafka) ([]kgo.Opt, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka.brokers: at least one broker is required")
	}
	for _, b := range cfg.Brokers {
		if strings.TrimSpace(b) == "" {
			return nil, errors.New("kafka.brokers: empty broker address")
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}
	if cfg.ClientID != "" {
		opts = append(opts, kgo.ClientID(cfg.ClientID))
	}
	if cfg.TLS.Enabled {
		tc, err := tlsconf.Client("kafka.tls", cfg.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch strings.ToUpper(cfg.SASL.Mechanism) {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.SASL.Username, Pass: cfg.SASL.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("kafka.sasl.mechanism: %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", cfg.SASL.Mechanism)
	}
	if cfg.SASL.Mechanism != "" && cfg.SASL.Username == "" {
		return nil, errors.New("kafka.sasl.username: required when kafka.sasl.mechanism is set")
	}
	return opts, nil
}

// kgoLogger forwards franz-go's own logs at debug level: at warn it repeats a line per
// connection attempt while Kafka is down, and the sink already reports that once per
// interval.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		// kgo's debug level logs every request; info is enough to follow connections.
		return kgo.LogLevelInfo
	}
	return kgo.LogLevelNone
}

func (l kgoLogger) Log(_ kgo.LogLevel, msg string, keyvals ...any) {
	l.log.Debug(msg, keyvals...)
}

// Logger returns franz-go's logger for a client of this process (kgo.WithLogger).
func Logger(log *slog.Logger) kgo.Logger { return kgoLogger{log} }

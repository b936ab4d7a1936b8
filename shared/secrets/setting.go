package secrets

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Setting names a secret and how often it is refetched.
type Setting struct {
	ARN     string
	Refresh time.Duration
}

// Open returns a cache of s's secret, read from Secrets Manager through awsCfg and parsed by parse.
func Open[T any](awsCfg aws.Config, s Setting, parse func([]byte) (T, error)) *Cache[T] {
	return NewCache(secretsmanager.NewFromConfig(awsCfg), s.ARN, s.Refresh, parse)
}

package secrets

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/amazon-webhook-gateway/gateway/shared/envconfig"
)

// Setting names a secret and how often it is refetched.
type Setting struct {
	ARN     string
	Refresh time.Duration
}

// ReadSetting reads the secret's ARN from the variable arnVar, and SECRET_REFRESH_INTERVAL
// (default 5m).
func ReadSetting(arnVar string) (Setting, error) {
	arn, err := envconfig.Required(arnVar)
	if err != nil {
		return Setting{}, err
	}
	refresh, err := envconfig.Duration("SECRET_REFRESH_INTERVAL", 5*time.Minute)
	if err != nil {
		return Setting{}, err
	}
	return Setting{ARN: arn, Refresh: refresh}, nil
}

// Open returns a cache of s's secret, read from Secrets Manager through awsCfg and parsed by parse.
func Open[T any](awsCfg aws.Config, s Setting, parse func([]byte) (T, error)) *Cache[T] {
	return NewCache(secretsmanager.NewFromConfig(awsCfg), s.ARN, s.Refresh, parse)
}

// Package ddbattr builds the DynamoDB attribute values the stores write.
package ddbattr

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// S is a string attribute.
func S(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// N is a number attribute.
func N(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Strings sets item's string attributes from pairs (name, value, name, value, ...), leaving out the
// empty values: an empty string cannot be an index key, and an absent attribute says "none" as
// well. It panics on an odd number of arguments (a programming error).
func Strings(item map[string]types.AttributeValue, pairs ...string) {
	if len(pairs)%2 != 0 {
		panic("ddbattr.Strings: odd number of arguments")
	}
	for i := 0; i < len(pairs); i += 2 {
		if v := pairs[i+1]; v != "" {
			item[pairs[i]] = S(v)
		}
	}
}

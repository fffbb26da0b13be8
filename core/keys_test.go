package core

import "testing"

func TestRedisKeyRoundTrip(t *testing.T) {
	for _, c := range []struct {
		ns  string
		p   int32
		key string
	}{{"spill", 0, "dp:1"}, {"rates.metrics", 123, "a:b}c{"}, {"g:1", 2, ""}} {
		rk := RedisKey(c.ns, c.p, c.key)
		if len(rk) != KeyPrefixLen(c.ns, c.p)+len(c.key) {
			t.Errorf("%q: KeyPrefixLen %d", rk, KeyPrefixLen(c.ns, c.p))
		}
		kp, ok := ParseRedisKey(rk)
		if !ok || kp.Namespace != c.ns || kp.Partition != c.p || kp.Key != c.key || kp.Meta != "" {
			t.Errorf("ParseRedisKey(%q) = %+v, %v", rk, kp, ok)
		}
		mk := MetaKey(c.ns, c.p, "fence")
		kp, ok = ParseRedisKey(mk)
		if !ok || kp.Namespace != c.ns || kp.Partition != c.p || kp.Meta != "fence" {
			t.Errorf("ParseRedisKey(%q) = %+v, %v", mk, kp, ok)
		}
	}
	if RedisKey("spill", 3, "k") != "{spill:3}:k" || MetaKey("spill", 3, "fence") != "{spill:3}#fence" {
		t.Fatal("format changed: it is a contract (operators' ACL patterns, Cluster slots)")
	}
	for _, bad := range []string{"", "spill:{3}:k", "{spill}:k", "{spill:x}:k", "{spill:3}", "{spill:3}x", "{:3}:k", "{spill:-1}:k"} {
		if kp, ok := ParseRedisKey(bad); ok {
			t.Errorf("ParseRedisKey(%q) = %+v, want not ok", bad, kp)
		}
	}
}

package scenarios

import "gopkg.in/yaml.v3"

// MarshalYAML writes a log without the other kind's settings: a Redis Streams
// log without the Kafka group fields (they keep their defaults in memory, and
// written out they would be refused when the file is read back), a Kafka log
// without the stream fields.
func (l Log) MarshalYAML() (any, error) {
	type plain Log // no MarshalYAML: the default encoding
	var n yaml.Node
	if err := n.Encode(plain(l)); err != nil {
		return nil, err
	}
	drop := streamOnly
	if l.Kind == LogRedisStreams {
		drop = kafkaOnly
	}
	kept := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if contains(drop, "log."+n.Content[i].Value) {
			continue
		}
		kept = append(kept, n.Content[i], n.Content[i+1])
	}
	n.Content = kept
	return &n, nil
}

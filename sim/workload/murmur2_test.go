package workload

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Vectors of Apache Kafka's UtilsTest.testMurmur2 (clients/src/test/java/org/apache/
// kafka/common/utils/UtilsTest.java), repeated by kafkajs, KafkaEx and others; the empty
// input is the seed path (no blocks, no tail).
func TestMurmur2KafkaVectors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int32
	}{
		{name: "two bytes", in: "21", want: -973932308},
		{name: "six bytes", in: "foobar", want: -790332482},
		{name: "24 bytes, no tail", in: "a-little-bit-long-string", want: -985981536},
		{name: "26 bytes, tail 2", in: "a-little-bit-longer-string", want: -1486304829},
		{name: "48 bytes", in: "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", want: -58897971},
		{name: "tail 3", in: "abc", want: 479470107},
		{name: "empty", in: "", want: 275646681},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Murmur2([]byte(tt.in)); got != tt.want {
				t.Fatalf("Murmur2(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestKafkaPartition(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		partitions int
		want       int32
	}{
		// toPositive(-790332482) = 1357151166; % 50 = 16 (also pinned by other Kafka clients).
		{name: "negative hash is masked, not negated", key: "foobar", partitions: 50, want: 16},
		{name: "one partition", key: "foobar", partitions: 1, want: 0},
		{name: "positive hash", key: "abc", partitions: 7, want: 479470107 % 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KafkaPartition([]byte(tt.key), tt.partitions); got != tt.want {
				t.Fatalf("KafkaPartition(%q, %d) = %d, want %d", tt.key, tt.partitions, got, tt.want)
			}
		})
	}
}

// franz-go's StickyKeyPartitioner(nil) is what a Go producer runs for keyed records; it
// is documented to match the Java client. Every tail length and many partition counts.
func TestKafkaPartitionMatchesFranzGo(t *testing.T) {
	for _, partitions := range []int{1, 3, 24, 100, 65536} {
		p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
		for i := range 2000 {
			key := []byte(fmt.Sprintf("k%0*d", i%9, i))
			want := int32(p.Partition(&kgo.Record{Key: key}, partitions))
			if got := KafkaPartition(key, partitions); got != want {
				t.Fatalf("KafkaPartition(%q, %d) = %d, franz-go says %d", key, partitions, got, want)
			}
		}
	}
}

func TestKafkaPartitionPanicsOnZeroPartitions(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	KafkaPartition([]byte("x"), 0)
}

package summary_test

import (
	"fmt"

	"github.com/spillway-sim/spillway/summary"
)

func Example() {
	t := summary.Totals{Needed: 8, Lost: 2}
	m, _ := summary.Lookup("context_loss_ratio")
	fmt.Println(m.Name, m.Unit, m.Value(&t))
	// Output: context_loss_ratio ratio 0.25
}

package classify

import (
	"embed"
	"io/fs"
)

//go:embed corpus/*.jsonl
var corpusFiles embed.FS

// CorpusFS is the labelled corpus the shipped model was trained on, one
// JSON Lines file per competence, embedded in the binary so that the
// commands that reuse its texts (bench, seed) run from any folder.
func CorpusFS() fs.FS {
	sub, err := fs.Sub(corpusFiles, "corpus")
	if err != nil {
		panic("classify: embedded corpus: " + err.Error()) // the pattern above guarantees the folder
	}
	return sub
}

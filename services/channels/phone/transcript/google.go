package transcript

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// googleDoc is the JSON of Google Cloud Speech-to-Text: a recognize
// response ({"results": [...]}), or a finished long-running operation
// ({"response": {"results": [...]}}).
type googleDoc struct {
	Results  *[]googleResult `json:"results"`
	Response *struct {
		Results *[]googleResult `json:"results"`
	} `json:"response"`
}

// googleResult is a result of v1 or v2, with the field names of the REST
// JSON (camelCase) or of the Python client's to_dict (snake_case).
type googleResult struct {
	Alternatives         []googleAlt `json:"alternatives"`
	ChannelTag           label       `json:"channelTag"`
	ChannelTagSnake      label       `json:"channel_tag"`
	ResultEndTime        num         `json:"resultEndTime"`
	ResultEndTimeSnake   num         `json:"result_end_time"`
	ResultEndOffset      num         `json:"resultEndOffset"`
	ResultEndOffsetSnake num         `json:"result_end_offset"`
}

type googleAlt struct {
	Transcript string       `json:"transcript"`
	Words      []googleWord `json:"words"`
}

// googleWord is a word: v1 startTime/endTime/speakerTag, v2
// startOffset/endOffset/speakerLabel.
type googleWord struct {
	Word              string `json:"word"`
	StartTime         num    `json:"startTime"`
	EndTime           num    `json:"endTime"`
	StartOffset       num    `json:"startOffset"`
	EndOffset         num    `json:"endOffset"`
	StartTimeSnake    num    `json:"start_time"`
	EndTimeSnake      num    `json:"end_time"`
	StartOffsetSnake  num    `json:"start_offset"`
	EndOffsetSnake    num    `json:"end_offset"`
	SpeakerTag        label  `json:"speakerTag"`
	SpeakerLabel      label  `json:"speakerLabel"`
	SpeakerTagSnake   label  `json:"speaker_tag"`
	SpeakerLabelSnake label  `json:"speaker_label"`
}

func (w googleWord) start() num {
	return firstNum(w.StartTime, w.StartOffset, w.StartTimeSnake, w.StartOffsetSnake)
}
func (w googleWord) end() num {
	return firstNum(w.EndTime, w.EndOffset, w.EndTimeSnake, w.EndOffsetSnake)
}

// speaker is the word's speaker, "" when none (speakerTag 0 is none).
func (w googleWord) speaker() string {
	for _, l := range []label{w.SpeakerLabel, w.SpeakerLabelSnake, w.SpeakerTag, w.SpeakerTagSnake} {
		if s := strings.TrimSpace(string(l)); s != "" && s != "0" {
			return s
		}
	}
	return ""
}

func (r googleResult) end() num {
	return firstNum(r.ResultEndTime, r.ResultEndOffset, r.ResultEndTimeSnake, r.ResultEndOffsetSnake)
}

func (r googleResult) channel() string {
	for _, l := range []label{r.ChannelTag, r.ChannelTagSnake} {
		if s := strings.TrimSpace(string(l)); s != "" {
			return s
		}
	}
	return ""
}

// firstNum is the first of ns that is given (or wrong).
func firstNum(ns ...num) num {
	for _, n := range ns {
		if n.set || n.bad != "" {
			return n
		}
	}
	return num{}
}

// parseGoogle reads Google Speech-to-Text JSON. With diarization, the last
// result holds every word of the call with its speakerTag: consecutive
// words of one speaker make a turn. Without, each result is a turn,
// labelled by channel (ch_1, ch_2…) when there are several; its times come
// from its words, else from the result end times.
func parseGoogle(s string) (parsed, error) {
	var doc googleDoc
	if err := decodeJSON("google", s, &doc); err != nil {
		return parsed{}, err
	}
	path := "results"
	var results []googleResult
	switch {
	case doc.Results != nil:
		results = *doc.Results
	case doc.Response != nil && doc.Response.Results != nil:
		results, path = *doc.Response.Results, "response.results"
	default:
		return parsed{}, errors.New("google: ni « results » ni « response.results » : ce JSON n'est pas une sortie Google Speech-to-Text")
	}
	total := 0
	var diarized []int
	for i, r := range results {
		if len(r.Alternatives) == 0 {
			continue
		}
		ws := r.Alternatives[0].Words
		if total += len(ws); total > maxWords {
			return parsed{}, tooManyWords()
		}
		for _, w := range ws {
			if w.speaker() != "" {
				diarized = append(diarized, i)
				break
			}
		}
	}
	var b builder
	if len(diarized) > 0 {
		// The last diarized result normally holds all the words; when it
		// holds fewer than the others together, each result was diarized on
		// its own and all are read.
		chosen := []int{diarized[len(diarized)-1]}
		if n := len(results[chosen[0]].Alternatives[0].Words); n < total-n {
			chosen = chosen[:0]
			for i, r := range results {
				if len(r.Alternatives) > 0 {
					chosen = append(chosen, i)
				}
			}
		}
		var words []word
		for _, i := range chosen {
			for j, w := range results[i].Alternatives[0].Words {
				at := fmt.Sprintf("google: %s[%d].alternatives[0].words[%d]", path, i, j)
				start, timed, err := w.start().time(1)
				if err != nil {
					return parsed{}, fmt.Errorf("%s: %w", at, err)
				}
				end, endTimed, err := w.end().time(1)
				if err != nil {
					return parsed{}, fmt.Errorf("%s: %w", at, err)
				}
				wd := word{text: strings.TrimSpace(w.Word), start: start, end: end, timed: timed, who: w.speaker()}
				if wd.text == "" {
					continue
				}
				if n := len(words); n > 0 {
					if wd.who == "" {
						wd.who = words[n-1].who
					}
					if !timed {
						wd.start = words[n-1].start
					}
				}
				if !endTimed || wd.end < wd.start {
					wd.end = wd.start
				}
				words = append(words, wd)
			}
		}
		err := wordTurns(&b, words, false)
		return parsed{turns: b.turns}, err
	}
	channels := map[string]bool{}
	for _, r := range results {
		channels[r.channel()] = true
	}
	prevEnd := map[string]float64{}
	for i, r := range results {
		if len(r.Alternatives) == 0 {
			continue
		}
		alt := r.Alternatives[0]
		at := fmt.Sprintf("google: %s[%d]", path, i)
		ch := r.channel()
		t := turn{where: fmt.Sprintf("le résultat %d", i+1), Turn: Turn{Text: alt.Transcript}}
		if len(channels) > 1 && ch != "" {
			t.Label = "ch_" + ch
		}
		end, hasEnd, err := r.end().time(1)
		if err != nil {
			return parsed{}, fmt.Errorf("%s: %w", at, err)
		}
		var texts []string
		for j, w := range alt.Words {
			texts = append(texts, w.Word)
			ws, ok, err := w.start().time(1)
			if err != nil {
				return parsed{}, fmt.Errorf("%s.alternatives[0].words[%d]: %w", at, j, err)
			}
			we, okEnd, err := w.end().time(1)
			if err != nil {
				return parsed{}, fmt.Errorf("%s.alternatives[0].words[%d]: %w", at, j, err)
			}
			if ok && !t.Timed {
				t.Start, t.End, t.Timed = ws, ws, true
			}
			if okEnd && t.Timed {
				t.End = max(t.End, we)
			}
		}
		if strings.TrimSpace(t.Text) == "" {
			t.Text = strings.Join(texts, " ")
		}
		if hasEnd {
			if !t.Timed {
				t.Start, t.Timed = min(prevEnd[ch], end), true
			}
			t.End = max(end, t.Start)
			prevEnd[ch] = end
		}
		if err := b.add(t); err != nil {
			return parsed{}, err
		}
	}
	if len(channels) > 1 {
		// Each channel's results come in order, not the channels together.
		sort.SliceStable(b.turns, func(i, j int) bool { return b.turns[i].Start < b.turns[j].Start })
	}
	return parsed{turns: b.turns}, nil
}

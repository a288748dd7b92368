package browser

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Press presses and releases each key of keys (a character, or a key of
// package kb such as kb.Tab, kb.Enter, kb.ArrowDown) as a keyboard does:
// one keydown that carries the character it types, then a keyup.
//
// chromedp.KeyEvent sends the character as a third, separate event; when
// the keydown moves the focus (Enter on a link to a field, as an error
// summary's links do), that character reaches the new focus and Enter
// submits the form there, which no keyboard does.
func Press(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range keys {
			var down, up map[string]any
			text := ""
			for _, e := range kb.Encode(r) {
				ev := map[string]any{"key": e.Key, "code": e.Code, "windowsVirtualKeyCode": e.WindowsVirtualKeyCode,
					"nativeVirtualKeyCode": e.NativeVirtualKeyCode, "modifiers": e.Modifiers}
				switch e.Type {
				case kb.KeyDown:
					down = ev
				case kb.KeyUp:
					ev["type"] = "keyUp"
					up = ev
				case kb.KeyChar:
					text = e.Text
				}
			}
			if down == nil || up == nil {
				return fmt.Errorf("press: no key for %q", r)
			}
			down["type"] = "rawKeyDown"
			if text != "" {
				down["type"], down["text"], down["unmodifiedText"] = "keyDown", text, text
			}
			for _, ev := range []map[string]any{down, up} {
				if err := t.Call(ctx, "Input.dispatchKeyEvent", ev, nil); err != nil {
					return fmt.Errorf("press %q: %w", r, err)
				}
			}
		}
		return nil
	})
}

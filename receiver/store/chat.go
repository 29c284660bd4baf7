package store

import "github.com/downtime-detector/downtime/receiver/chat"

// Chat is what acting from the chat needs from the store: the records
// behind the buttons' callback keys (which alert, which message, which
// silence) and the getUpdates offset, so that no update is handled twice
// across restarts. It is chat.Store; receiver/store/storetest checks it for
// every implementation (RunChat).
type Chat interface {
	chat.Store
}

"""The WeChat Official Account (公众号) channel: see docs/wechat.md and bot.wechat.app."""

// The bridge's JSON shapes, built from whatsapp-web.js objects (Message, Chat, Contact). Everything
// here comes from other people and WhatsApp: Aegis treats it as untrusted content.

export const CHAT_ID_RE = /^[0-9]{5,20}@c\.us$|^[0-9]{5,20}(-[0-9]{5,20})?@g\.us$|^[0-9]{5,24}@lid$/;

function serialized(id) {
    if (id && typeof id === 'object') return id._serialized;
    return typeof id === 'string' ? id : null;
}

async function safely(promise) {
    try {
        return await promise;
    } catch {
        return null;
    }
}

// The sender as WhatsApp knows them: `saved_name` is the owner's own address-book name (null when
// the sender is not a saved contact); `push_name` is the name the sender chose for themselves.
export async function senderOf(message, contacts = new Map()) {
    const id = message.fromMe ? null : message.author || message.from;
    if (!id) return { id: null, saved_name: null, push_name: null };
    if (!contacts.has(id)) {
        contacts.set(id, safely(message.getContact()));
    }
    const contact = await contacts.get(id);
    return {
        id,
        saved_name: contact && contact.isMyContact && contact.name ? String(contact.name) : null,
        push_name: contact && contact.pushname ? String(contact.pushname) : null,
    };
}

export function messageShape(message, { chat = null, sender = null } = {}) {
    const chatId = message.fromMe ? message.to : message.from;
    return {
        id: serialized(message.id),
        chat_id: chatId,
        chat_name: chat && chat.name ? String(chat.name) : null,
        is_group: chat ? Boolean(chat.isGroup) : String(chatId).endsWith('@g.us'),
        from_me: Boolean(message.fromMe),
        author: sender ? sender.id : null,
        sender_saved_name: sender ? sender.saved_name : null,
        sender_push_name: sender ? sender.push_name : null,
        timestamp: Number(message.timestamp) || 0,
        type: String(message.type || 'unknown'),
        body: typeof message.body === 'string' ? message.body : '',
        has_media: Boolean(message.hasMedia),
        duration: message.duration ? Number(message.duration) : null,
        is_forwarded: Boolean(message.isForwarded),
        has_quoted: Boolean(message.hasQuotedMsg),
        links: Array.isArray(message.links) ? message.links.map((l) => String(l.link)) : [],
    };
}

// A message with its chat and sender looked up (each failure leaves the field null, never drops it).
export async function describeMessage(message, contacts) {
    const [chat, sender] = await Promise.all([safely(message.getChat()), senderOf(message, contacts)]);
    return messageShape(message, { chat, sender });
}

export function chatShape(chat) {
    return {
        id: serialized(chat.id),
        name: chat.name ? String(chat.name) : null,
        is_group: Boolean(chat.isGroup),
        unread_count: Number(chat.unreadCount) || 0,
        timestamp: Number(chat.timestamp) || 0,
        archived: Boolean(chat.archived),
        pinned: Boolean(chat.pinned),
        muted: Boolean(chat.isMuted),
        read_only: Boolean(chat.isReadOnly),
        last_message: chat.lastMessage ? messageShape(chat.lastMessage, { chat }) : null,
    };
}

#!/usr/bin/env node
/**
 * tuanbot e2e driver: a real Wechaty puppet service (npm `wechaty-puppet-service`'s
 * PuppetServer) serving npm's `wechaty-puppet-mock`, controlled over JSON lines.
 *
 * Usage:  node mock_service.js --port 18788 --token some-token [--host 127.0.0.1]
 *
 * stdin  (one JSON object per line, `id` is echoed back):
 *   {"id":1,"cmd":"create_contact","contact_id":"c1","name":"Alice"}          -> {"contact_id":"c1"}
 *   {"id":2,"cmd":"create_room","room_id":"r1@chatroom","topic":"T","members":["c1"]} -> {"room_id":...}
 *   {"id":3,"cmd":"login","contact_id":"bot"}       log the bot in (again after every puppet start)
 *   {"id":4,"cmd":"logout"}
 *   {"id":5,"cmd":"say","contact_id":"c1","room_id":"r1@chatroom","text":"hi","mentions":["bot"]}
 *   {"id":6,"cmd":"say","contact_id":"c1","to_contact_id":"bot","text":"hi"}    (private message)
 *   {"id":7,"cmd":"add_member","room_id":"r1@chatroom","contact_ids":["c2"],"inviter_id":"c1"}
 *   {"id":8,"cmd":"remove_member","room_id":"r1@chatroom","contact_ids":["c2"],"remover_id":"c1"}
 *   {"id":9,"cmd":"topic","room_id":"r1@chatroom","topic":"New","changer_id":"c1"}
 *   {"id":10,"cmd":"ping"}
 *   {"id":11,"cmd":"shutdown"}
 * stdout (one JSON object per line):
 *   {"id":1,"ok":true,"result":{...}}  |  {"id":1,"ok":false,"error":"..."}
 *   {"event":"ready","port":18788}                      once the gRPC server listens
 *   {"event":"bot_said","room":"r1@chatroom","to":"","text":"...","message_id":"...","ts":1700000000000}
 *   {"event":"puppet_start"} / {"event":"puppet_stop"}  when the client (re)starts the puppet
 *
 * Nothing else is written to stdout; wechaty's own logs go to stderr (WECHATY_LOG, default "warn").
 */
import readline from 'node:readline'
import process from 'node:process'

import { PuppetServer, log as serviceLog } from 'wechaty-puppet-service'
import { PuppetMock, mock } from 'wechaty-puppet-mock'
import * as PUPPET from 'wechaty-puppet'

function parseArgs (argv) {
  const args = { host: '127.0.0.1', port: 0, token: process.env.WECHATY_PUPPET_SERVICE_TOKEN || '' }
  for (let i = 2; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '')
    args[key] = argv[++i]
  }
  args.port = Number(args.port)
  if (!args.port || !args.token) {
    process.stderr.write('usage: node mock_service.js --port N --token T [--host H]\n')
    process.exit(2)
  }
  return args
}

function emitLine (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// The server refuses plaintext unless this is set; the Python SDK only speaks plaintext gRPC.
process.env.WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_SERVER = 'true'
serviceLog.level(process.env.WECHATY_LOG || 'warn')

const args = parseArgs(process.argv)
const mocker = new mock.Mocker()
const puppet = new PuppetMock({ mocker })
let botId = ''

/**
 * The mock's `messageSendText` resolves to `undefined`, so the gRPC reply carries an empty id,
 * and python-wechaty's `Room.say`/`Message.say` then fail loading message "". The mock emits the
 * new message synchronously inside the send, so we catch its id and return it.
 */
for (const method of ['messageSendText', 'messageSendFile']) {
  const original = puppet[method].bind(puppet)
  puppet[method] = async (...callArgs) => {
    let newId
    const capture = ({ messageId }) => { newId = messageId }
    puppet.on('message', capture)
    try {
      await original(...callArgs)
    } finally {
      puppet.off('message', capture)
    }
    return newId
  }
}

// Every message said by the bot is reported, so the tests can assert on what the room received.
puppet.on('message', ({ messageId }) => {
  let payload
  try {
    payload = mocker.messagePayload(messageId)
  } catch {
    return
  }
  if (!botId || payload.talkerId !== botId) return
  emitLine({
    event: 'bot_said',
    room: payload.roomId || '',
    to: payload.listenerId || '',
    text: payload.text ?? '',
    mentions: payload.mentionIdList || [],
    message_id: payload.id,
    ts: Date.now(),
  })
})

/**
 * A client's `start()` calls the server's stop() then start(); stop() ends the login. Mocker
 * environments run on every puppet start, so this one logs the bot in again each time.
 */
mocker.use(() => {
  emitLine({ event: 'puppet_start' })
  if (botId && !puppet.isLoggedIn) mocker.login(mocker.ContactMock.load(botId))
  return () => emitLine({ event: 'puppet_stop' })
})

let seq = 0
const newId = (prefix) => `${prefix}${Date.now().toString(36)}${(seq++).toString(36)}`

const commands = {
  ping: () => ({ pong: true }),

  create_contact: ({ contact_id: id = newId('c'), name = id }) => {
    mocker.createContact({ id, name, type: PUPPET.types.Contact.Individual, friend: true })
    return { contact_id: id }
  },

  create_room: ({ room_id: id = newId('r') + '@chatroom', topic = '', members = [] }) => {
    if (!id.includes('@')) throw new Error('room ids must contain "@" (the mock routes sends by it)')
    mocker.createRoom({ id, topic, memberIdList: [...members], adminIdList: [], ownerId: members[0] })
    return { room_id: id }
  },

  login: ({ contact_id: id }) => {
    botId = id
    if (puppet.isLoggedIn) return { logged_in: puppet.currentUserId }
    mocker.login(mocker.ContactMock.load(id))
    return { logged_in: id }
  },

  logout: async () => {
    await puppet.logout('driver logout')
    return {}
  },

  say: ({ contact_id, room_id, to_contact_id, text, mentions = [] }) => {
    const talker = mocker.ContactMock.load(contact_id)
    const conversation = room_id
      ? mocker.RoomMock.load(room_id)
      : mocker.ContactMock.load(to_contact_id)
    let messageId
    const capture = (p) => { messageId = p.messageId }
    puppet.on('message', capture)
    try {
      talker.say(text, mentions.map(id => mocker.ContactMock.load(id))).to(conversation)
    } finally {
      puppet.off('message', capture)
    }
    return { message_id: messageId }
  },

  add_member: ({ room_id, contact_ids, inviter_id }) => {
    const room = mocker.RoomMock.load(room_id)
    room.add(...contact_ids.map(id => mocker.ContactMock.load(id))).by(mocker.ContactMock.load(inviter_id))
    return {}
  },

  remove_member: ({ room_id, contact_ids, remover_id }) => {
    const room = mocker.RoomMock.load(room_id)
    room.remove(...contact_ids.map(id => mocker.ContactMock.load(id))).by(mocker.ContactMock.load(remover_id))
    return {}
  },

  topic: ({ room_id, topic, changer_id }) => {
    mocker.RoomMock.load(room_id).topic(topic).by(mocker.ContactMock.load(changer_id))
    return {}
  },

  shutdown: async () => {
    setImmediate(() => shutdown(0))
    return {}
  },
}

const server = new PuppetServer({
  endpoint: `${args.host}:${args.port}`,
  puppet,
  token: args.token,
})

let stopping = false
async function shutdown (code) {
  if (stopping) return
  stopping = true
  try {
    await server.stop()
  } catch (e) {
    process.stderr.write(`stop failed: ${e}\n`)
  }
  process.exit(code)
}

process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  if (!line.trim()) return
  let request
  try {
    request = JSON.parse(line)
  } catch (e) {
    emitLine({ ok: false, error: `bad json: ${e.message}` })
    return
  }
  const handler = commands[request.cmd]
  try {
    if (!handler) throw new Error(`unknown cmd ${request.cmd}`)
    const result = await handler(request)
    emitLine({ id: request.id, ok: true, result })
  } catch (e) {
    emitLine({ id: request.id, ok: false, error: String(e && e.message ? e.message : e) })
  }
})
// The parent going away (stdin closed) ends the service too: no orphaned servers.
rl.on('close', () => shutdown(0))

await server.start()
emitLine({ event: 'ready', port: args.port })

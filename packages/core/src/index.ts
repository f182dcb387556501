export { createBroker, StompBroker } from './stomp-broker';
export type {
  AttachOptions,
  CloseOptions,
  ReceivedMessage,
  StompBrokerEvents,
  UpgradeOptions,
} from './stomp-broker';
export { DEFAULT_LIMITS, VERSION, hasPrefix } from './options';
export type { Authenticator, BrokerOptions, ConnectInfo, Limits, Principal } from './options';
export type { Logger } from './logger';
export { silentLogger } from './logger';
export { StompError, ERROR_CODES, isStompError } from './errors';
export type { StompErrorCode } from './errors';
export { MessagingTemplate, toBody } from './template';
export type { Payload, SendOptions } from './template';
export { StompSession } from './session/stomp-session';
export type { CloseReason, SessionState, SessionSubscription } from './session/stomp-session';
export type { Connection } from './session/connection';
export { CloseCode } from './session/connection';
export { InboundChannel } from './channel/inbound-channel';
export type { SessionContext } from './channel/inbound-channel';
export { WebSocketConnection } from './transport/websocket';
export type { WebSocketOptions } from './transport/websocket';
export * from './broker/index';
export * from './codec/index';

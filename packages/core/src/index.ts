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
export type { Logger, LoggerOption, LogLevel, StderrLoggerOptions } from './logger';
export { createStderrLogger, silentLogger } from './logger';
export {
  CompositeMessageConverter,
  bytesConverter,
  defaultConverters,
  jsonConverter,
  noContentTypeConverter,
  stringConverter,
} from './message-converter';
export type { ConvertedBody, MessageConverter, MessageConvertersOption } from './message-converter';
export { PRINCIPAL_NAME_FIELDS, principalFromUser, principalResolver } from './user/principal';
export type { PrincipalMapping } from './user/principal';
export { StompError, ERROR_CODES, isStompError } from './errors';
export type { StompErrorCode } from './errors';
export { MessagingTemplate, toBody } from './template';
export type { Payload, SendOptions } from './template';
export { StompSession } from './session/stomp-session';
export type { CloseReason, SessionState, SessionSubscription } from './session/stomp-session';
export type { Connection, ConnectionEndpoint } from './session/connection';
export { CloseCode } from './session/connection';
export { InboundChannel } from './channel/inbound-channel';
export type { ChannelEvents, RefusedFrame, SessionContext, SubscriptionInfo } from './channel/inbound-channel';
export { Reject, reject } from './channel/interceptors';
export type {
  ChannelCommand,
  ChannelContext,
  ChannelInterceptor,
  ChannelMessage,
  PreSendResult,
  RejectOptions,
} from './channel/interceptors';
export {
  MessageExceptionHandler,
  MessageMapping,
  SendTo,
  SendToUser,
  SubscribeMapping,
  ValidatePayload,
} from './app/decorators';
export type { StompClassOrMethodDecorator, StompMethodDecorator } from './app/decorators';
export type {
  ExceptionHandler,
  HandleOptions,
  HandlerContext,
  HandlerMessage,
  MessageHandler,
  SendToUserOption,
} from './app/types';
export { PayloadValidationError } from './app/payload';
export type { PayloadValidator, StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from './app/payload';
export { UserRegistry } from './user/user-registry';
export type { UserInfo, UserRegistryEvents } from './user/user-registry';
export { encodeUserName } from './user/user-destinations';
export { WebSocketConnection, handleProtocols, requestPath } from './transport/websocket';
export type { WebSocketOptions } from './transport/websocket';
export { Handshake, writeRejection } from './transport/handshake';
export { SockJsEndpoint, SockJsConnection } from './transport/sockjs';
export type { SockJsOptions, SockJsRequestInit } from './transport/sockjs';
export { TRANSFER_ENCODING_HEADER } from './session/binary';
export type {
  HandshakeContext,
  HandshakeInit,
  HandshakeInterceptor,
  HandshakeRejection,
  HandshakeResult,
} from './transport/handshake';
export * from './broker/index';
export * from './codec/index';
export * from './metrics/index';
export * from './inspector/index';
export { TcpConnection, TcpListener, certificateCommonName } from './transport/tcp';
export type { TcpAccept, TcpListenOptions } from './transport/tcp';
export { RelayBroker, createRelayBroker } from './relay/relay-broker';
export type { RelayBrokerOptions } from './relay/relay-broker';
export type { RelayOptions } from './relay/relay-options';
export { parseRelayUrl } from './relay/relay-options';
export { toRabbit, fromRabbit } from './relay/destination-map';

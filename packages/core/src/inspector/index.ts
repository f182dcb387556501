export { createInspector, inspectorPath } from './inspector';
export type { Inspector, InspectorOptions } from './inspector';
export { InspectorModel } from './model';
export type { InspectorModelOptions, InspectorSession, InspectorSnapshot, RatePoint } from './model';
export { renderPage, pageHeaders, JSON_HEADERS } from './page';

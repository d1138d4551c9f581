export { combineHash, DEFAULT_FEATURE_OPTIONS, type FeatureOptions, fmix32, hashedCounts, hashRange, resolveFeatureOptions, type SparseVector, words } from './features';
export { DEFAULT_LOGISTIC_REGRESSION_OPTIONS, LogisticRegression, type LogisticRegressionOptions } from './logistic-regression';
export { accuracy, rocAuc } from './metrics';
export { SeededRandom } from './random';
export { DEFAULT_RECORD_FEATURE_DIMENSION, recordFeatureVector } from './record-features';
export { distinguishingAuc, type DistinguishingOptions, type DistinguishingResult, stratifiedFolds, TextClassifier, type TextClassifierOptions } from './text-classifier';
export { TfidfVectorizer } from './tfidf';

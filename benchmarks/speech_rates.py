"""Measure speech rates per voice and the cost of one ~60-word message.

    .venv/bin/python benchmarks/speech_rates.py [--voices DIR] [--rate N]

For each voice file with an espeak-ng voice: the duration of a fixed message in that
language at the file's rate, as words per minute (characters per minute for Chinese and
Japanese, which have no spaces). Then the time to synthesize and encode a ~60-word English
message (median of several runs). Then the same for each Piper (neural) voice file: words
a minute as a member hears it (sentences joined with the speech service's pauses) and the
CPU a message costs. Results are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from commhub.speech import espeak, joining, mp3  # noqa: E402
from commhub.speech.piper_engine import PiperEngine  # noqa: E402
from commhub.speech.spoken import count_words, speakable  # noqa: E402
from commhub.speech.voices import ESPEAK, PIPER, VoiceBook  # noqa: E402

# The same short refill reminder in each language (our own translations).
SAMPLES = {
    "en": "Hello. This is your health plan calling. Your prescription is ready to pick up "
    "at your pharmacy. If you have questions, please call Member Services. We are happy to "
    "help you.",
    "es": "Hola. Le llama su plan de salud. Su receta está lista para recoger en su farmacia. "
    "Si tiene preguntas, llame a Servicios para Miembros. Con gusto le ayudamos.",
    "vi": "Xin chào. Đây là chương trình bảo hiểm sức khỏe của quý vị. Thuốc theo toa của quý "
    "vị đã sẵn sàng tại nhà thuốc. Nếu có câu hỏi, xin gọi Dịch vụ Hội viên.",
    "zh-Hans": "您好。这里是您的健康保险计划。您的处方药已经可以在药房领取了。如有问题，请致电会员服务部。"
    "我们很乐意为您提供帮助。",
    "zh-Hant": "你好。呢度係你嘅健康保險計劃。你嘅處方藥已經可以喺藥房攞喇。如果有問題，請打電話俾會員服務部。"
    "我哋好樂意幫你。",
    "ru": "Здравствуйте. Вам звонит ваш медицинский план. Ваш рецепт готов, его можно забрать "
    "в аптеке. Если у вас есть вопросы, позвоните в отдел обслуживания участников.",
    "ko": "안녕하세요. 귀하의 건강 보험입니다. 처방약이 준비되어 약국에서 받으실 수 있습니다. "
    "궁금한 점이 있으시면 회원 서비스로 전화해 주십시오.",
    "uk": "Добрий день. Вам телефонує ваш медичний план. Ваш рецепт готовий, його можна "
    "забрати в аптеці. Якщо у вас є запитання, зателефонуйте до служби підтримки учасників.",
    "ar": "مرحبا. هذه خطتك الصحية. وصفتك الطبية جاهزة للاستلام من الصيدلية. إذا كانت لديك أسئلة، "
    "يرجى الاتصال بخدمات الأعضاء.",
    "fr": "Bonjour. Ici votre régime d'assurance maladie. Votre ordonnance est prête à la "
    "pharmacie. Si vous avez des questions, appelez le service aux membres.",
    "pt": "Olá. Aqui é o seu plano de saúde. Sua receita está pronta para retirar na farmácia. "
    "Se tiver dúvidas, ligue para o Atendimento ao Associado.",
    "de": "Guten Tag. Hier ist Ihre Krankenversicherung. Ihr Rezept liegt in Ihrer Apotheke "
    "zur Abholung bereit. Bei Fragen rufen Sie bitte den Mitgliederservice an.",
    "it": "Buongiorno. Qui è il suo piano sanitario. La sua ricetta è pronta in farmacia. "
    "Se ha domande, chiami il Servizio Membri.",
    "pl": "Dzień dobry. Dzwoni Pana plan zdrowotny. Pana recepta jest gotowa do odbioru w "
    "aptece. Jeśli ma Pan pytania, prosimy zadzwonić do Działu Obsługi Członków.",
    "hi": "नमस्ते। यह आपकी स्वास्थ्य योजना है। आपकी दवा फार्मेसी में लेने के लिए तैयार है। "
    "अगर आपके कोई प्रश्न हैं, तो कृपया सदस्य सेवा को फ़ोन करें।",
    "ht": "Bonjou. Se plan sante ou ki rele ou. Preskripsyon ou pare nan famasi a. Si ou gen "
    "kesyon, tanpri rele Sèvis Manm yo.",
    "ja": "こんにちは。けんこうほけんです。おくすりのじゅんびができました。",
    "tl": "Kumusta. Ito ang inyong health plan. Handa na ang inyong reseta sa botika.",
    "so": "Salaan. Kani waa qorshahaaga caafimaadka. Daawadaadu way diyaar tahay.",
}

SIXTY_WORDS = (
    "Hello. This is Evergreen Community Health Plan calling with a reminder about your "
    "prescription refill. Your medicine is ready to pick up at your pharmacy on Monday, "
    "December third. If you have any questions, please call Member Services at "
    "1-800-555-0100, TTY 711, Monday to Friday, 8 AM to 8 PM. Again, the number is "
    "1-800-555-0100. Thank you."
)

# Plain-language English (short sentences, LA-8) for the TS-1 check (140-160 wpm).
ENGLISH = [
    SAMPLES["en"],
    "Hello Maria. This is a reminder from your health plan. It is time for your yearly flu "
    "shot. The shot is free for you. You can get it at your doctor's office or at most "
    "pharmacies. If you need a ride, we can help. Call Member Services to ask for a ride.",
    "Hello. This is Evergreen Community Health Plan calling about your prescription refill. "
    "Your medicine is ready to pick up at your pharmacy. Please call us if you have any "
    "questions about your plan or your benefits. We are happy to help you every day of the "
    "week.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voices", type=Path, default=ROOT / "voices")
    parser.add_argument("--rate", type=int, default=None, help="override every voice's rate")
    parser.add_argument("--default-rate", type=int, default=145, help="speech.rate_wpm")
    args = parser.parse_args()
    book = VoiceBook.load(args.voices)

    print(f"{'lang':8} {'voice':8} {'rate':>4} {'units':>5} {'secs':>6} {'per min':>8}")
    for tag in sorted(book.languages):
        entry = book.languages[tag]
        ev = next((v for v in entry.engines if v.engine == ESPEAK), None)
        if ev is None:
            print(f"{tag:8} {'-':8} no espeak-ng voice ({entry.notes or 'none declared'})")
            continue
        text = ev.apply_rules(SAMPLES[tag])
        rate = args.rate or ev.rate_wpm or args.default_rate
        secs = len(espeak.synthesize_pcm(text, ev.voice, rate)) / 2 / espeak.sample_rate()
        units = count_words(text)
        unit = "chars" if tag in ("zh-Hans", "zh-Hant", "ja") else "words"
        print(
            f"{tag:8} {ev.voice:8} {rate:4} {units:5} {secs:6.2f} {units / secs * 60:6.1f} {unit}"
        )

    rate = next(v for v in book.languages["en"].engines if v.engine == ESPEAK).rate_wpm
    rate = rate or args.default_rate
    print(f"\nEnglish at rate {rate}:")
    for text in ENGLISH:
        secs = len(espeak.synthesize_pcm(text, "en-us", rate)) / 2 / espeak.sample_rate()
        print(
            f"  {count_words(text):3} words {secs:6.2f} s {count_words(text) / secs * 60:6.1f} wpm"
        )

    spoken = speakable(SIXTY_WORDS, "espeak")
    words = count_words(SIXTY_WORDS)  # as written: a phone number is one word
    espeak.synthesize_pcm("warm up", "en-us", rate)
    synth_t, enc_t = [], []
    for _ in range(7):
        t0 = time.perf_counter()
        pcm = espeak.synthesize_pcm(spoken, "en-us", rate)
        t1 = time.perf_counter()
        mp3.encode_pcm(pcm, 48)
        t2 = time.perf_counter()
        synth_t.append(t1 - t0)
        enc_t.append(t2 - t1)
    secs = len(pcm) / 2 / espeak.sample_rate()
    s, e = statistics.median(synth_t) * 1000, statistics.median(enc_t) * 1000
    print(
        f"\n{words}-word English message: {secs:.1f} s of speech ({words / secs * 60:.0f} wpm); "
        f"synthesize {s:.0f} ms + encode (48 kbps, q7) {e:.0f} ms = {s + e:.0f} ms (median of 7)"
    )
    neural(book, args.rate, args.default_rate)


def neural(book: VoiceBook, override: int | None, default_rate: int) -> None:
    """Piper voices: rate as heard (joined with the service's pauses) and CPU per message."""
    engine = PiperEngine()
    for tag in sorted(book.languages):
        ev = next((v for v in book.languages[tag].engines if v.engine == PIPER), None)
        if ev is None or not engine.has_voice(ev.voice):
            continue
        rate = override or ev.rate_wpm or default_rate
        engine.load(ev.voice)
        print(f"\nPiper {ev.voice} ({tag}) at rate {rate}, sentences joined as the service does:")
        texts = ENGLISH if tag == "en" else [SAMPLES[tag]]
        for text in texts:
            sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
            pcm = joining.join([engine.synthesize_pcm(s, ev.voice, rate) for s in sentences])
            words = count_words(text)
            print(
                f"  {words:3} words {pcm.duration_s:6.2f} s {words / pcm.duration_s * 60:6.1f} wpm"
            )
        if tag != "en":
            continue
        # Sentence by sentence, each as the speech service gives it to Piper.
        spoken = [speakable(s, "piper") for s in SIXTY_WORDS.replace(". ", ".\n").split("\n")]
        wall, cpu = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            pieces = [engine.synthesize_pcm(s, ev.voice, rate) for s in spoken]
            joined = joining.join(pieces)
            mp3.encode_pcm(joined.samples, 48, joined.sample_rate)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        w, c = statistics.median(wall), statistics.median(cpu)
        print(
            f"  {count_words(SIXTY_WORDS)}-word message, {joined.duration_s:.1f} s of speech: "
            f"{w * 1000:.0f} ms wall, {c * 1000:.0f} ms CPU (one thread; median of 3) = "
            f"{c / joined.duration_s * 1000:.0f} ms CPU per second of speech"
        )


if __name__ == "__main__":
    main()

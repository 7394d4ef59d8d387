!function(w,d,s,l){
var T=(e,x,v)=>v&&e.setAttribute("data-"+x,v),A=x=>s.getAttribute("data-"+x),S=(x,v)=>T(s,x,v),
V=s.src,P=A("api")||A("goatcounter"),Z=A("domains"),
W=w.plausible||{},q=W.q||[],G=A("goatcounter"),N=w.goatcounter?.no_onload,h,r,
c=e=>{var t=e.target.closest?.("[data-umami-event],[data-goatcounter-click],[class*=plausible-event-name]"),m,a,r;if(!t)return;
m=t.getAttribute("data-umami-event")||t.getAttribute("data-goatcounter-click");
for(a of t.attributes)if(r=/^data-umami-event-(.+)/.exec(a.name))T(t,"hearth-prop-"+r[1],a.value);
(t.className+"").replace(/plausible-event-(\S+?)=(\S+)/g,(x,k,v)=>(v=v.replace(/\+/g," "),k=="name"?m=v:T(t,"hearth-prop-"+k,v)));
T(t,"hearth-event",m)};
S("site",A("site")||A("website-id")||/pa-[^/?]+(?=\.js)/.exec(V)?.[0]);
P&&S("api",P.replace(/(api\/event|count)(\?.*)?$/,"ingest/e"));
(r=A("host-url"))&&S("api",r.replace(/\/?$/,"/ingest/e"));
G&&S("domain",l.hostname);
/\.hash\./.test(V)&&S("hash",1);
(G||/\.manual\./.test(V)||A("auto-track")=="false")&&S("manual",1);
w.addEventListener("click",c,!0);
if(!Z||Z.split(/\s*,\s*/).includes(l.hostname))
